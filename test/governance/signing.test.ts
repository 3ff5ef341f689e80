/**
 * Deploy signatures through the real HTTP app and the real CLI: valid, missing, wrong key,
 * tampered code, dry run storing nothing, the signature shown with the version, a version that
 * arrives without a deploy here (as from a Master) refused before it runs, and
 * `strata signing generate` + `strata fn deploy --sign`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signDigest } from '../../src/governance/signing.ts';
import { type GovWorker, startGovWorker, cli as strata } from './support.ts';

const good = generateSigningKey();
const other = generateSigningKey();
let gov: GovWorker;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-sign-'));
  gov = await startGovWorker({ 'signing.keys': { ci: good.publicKey } }, { listen: true });
});
afterAll(async () => {
  await gov?.close();
  rmSync(dir, { recursive: true, force: true });
});

const json = async (res: Response) => (await res.json()) as Record<string, any>;
const manifest = (source = 'export default () => "signed"') => ({
  name: 'signed',
  runtime: 'js',
  trust: 'trusted',
  source,
});

async function digestOf(m: Record<string, unknown>): Promise<string> {
  const res = await gov.call('POST', '/v1/functions?dryRun=1', m);
  expect(res.status).toBe(200);
  const body = await json(res);
  expect(body).toMatchObject({ dryRun: true, stored: false, signatureRequired: true });
  expect(body.digest).toMatch(/^[0-9a-f]{64}$/);
  return body.digest;
}

describe('signatures', () => {
  it('a dry run gives the digest and stores nothing', async () => {
    await digestOf(manifest());
    expect((await gov.call('GET', '/v1/functions/signed')).status).toBe(404);
  });

  it('missing -> 403 signature_required; standard trust needs none', async () => {
    const res = await gov.call('POST', '/v1/functions', manifest());
    expect(res.status).toBe(403);
    expect((await json(res)).error.code).toBe('signature_required');
    const standard = await gov.call('POST', '/v1/functions', {
      name: 'std',
      runtime: 'script',
      interpreter: 'sh',
      trust: 'standard',
      source: 'cat\n',
    });
    expect(standard.status).not.toBe(403);
  });

  it('wrong key, unknown key id and tampered code -> 403 signature_invalid', async () => {
    const digest = await digestOf(manifest());
    const wrong = await gov.call('POST', '/v1/functions', {
      ...manifest(),
      signature: { keyId: 'ci', sig: signDigest(other.privateKeyPem, digest) },
    });
    expect((await json(wrong)).error.code).toBe('signature_invalid');
    expect(wrong.status).toBe(403);
    const unknown = await gov.call('POST', '/v1/functions', {
      ...manifest(),
      signature: { keyId: 'nobody', sig: signDigest(good.privateKeyPem, digest) },
    });
    expect((await json(unknown)).error.code).toBe('signature_invalid');
    const tampered = await gov.call('POST', '/v1/functions', {
      ...manifest('export default () => "evil"'),
      signature: { keyId: 'ci', sig: signDigest(good.privateKeyPem, digest) },
    });
    expect(tampered.status).toBe(403);
    expect((await json(tampered)).error.code).toBe('signature_invalid');
  });

  it('valid -> 201, the signature travels with the version and it runs', async () => {
    const digest = await digestOf(manifest());
    const signature = { keyId: 'ci', sig: signDigest(good.privateKeyPem, digest) };
    const res = await gov.call('POST', '/v1/functions', { ...manifest(), signature });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body.digest).toBe(digest);
    expect(body.signature).toEqual(signature);
    expect((await json(await gov.call('GET', '/v1/functions/signed'))).signature).toEqual(signature);
    const record = await json(await gov.call('POST', '/v1/functions/signed/invoke', {}));
    expect(record).toMatchObject({ status: 'succeeded', result: 'signed' });
  });

  it('a multipart deploy carries the signature as a field', async () => {
    const m = { ...manifest('export default () => "multi"'), name: 'multi' };
    const digest = await digestOf(m);
    const form = new FormData();
    form.set('manifest', JSON.stringify(m));
    form.set('signature', JSON.stringify({ keyId: 'ci', sig: signDigest(good.privateKeyPem, digest) }));
    const res = await gov.worker.app.request('/v1/functions', { method: 'POST', body: form });
    expect(res.status).toBe(201);
  });

  it('a trusted version that arrives without a verified signature (a Master import) is refused before it runs', async () => {
    const m = manifest('export default () => "from a master"');
    const plan = gov.worker.registry.plan({ ...m, name: 'imported' });
    const fn = gov.worker.registry.importArtifact({ ...plan.manifest }, plan.code, plan.digest);
    const record = await gov.worker.executor.submit({
      artifact: gov.worker.registry.artifact(fn),
      input: {},
      source: 'master',
    }).done;
    expect(record.error?.message).toContain('no signature verified');
    expect(record.status).toBe('rejected');
    expect(record.error?.code).toBe('signature_required');
  });

  it('CLI: strata signing generate, then strata fn deploy --sign', async () => {
    const keyFile = join(dir, 'ops.pem');
    const gen = await strata(['signing', 'generate', '--out', keyFile, '--json']);
    expect(gen.code, gen.stderr).toBe(0);
    const { publicKey } = JSON.parse(gen.stdout) as { publicKey: string };
    expect(readFileSync(`${keyFile}.pub`, 'utf8').trim()).toBe(publicKey);
    // A second worker that knows this key as "ops".
    const second = await startGovWorker({ 'signing.keys': { ops: publicKey } }, { listen: true });
    try {
      const code = join(dir, 'cli-signed.js');
      writeFileSync(code, 'export default () => "via cli"\n');
      const unsigned = await strata(['fn', 'deploy', code, '--trust', 'trusted', '--url', second.worker.url, '--json']);
      expect(unsigned.code).not.toBe(0);
      expect(unsigned.stderr + unsigned.stdout).toContain('signature');
      const signed = await strata([
        'fn',
        'deploy',
        code,
        '--trust',
        'trusted',
        '--sign',
        keyFile,
        '--url',
        second.worker.url,
        '--json',
      ]);
      expect(signed.code, signed.stderr).toBe(0);
      expect(JSON.parse(signed.stdout)).toMatchObject({ name: 'cli-signed', signature: { keyId: 'ops' } });
    } finally {
      await second.close();
    }
  }, 600_000);

  it('CLI: strata secrets set reads the value from stdin; strata config never shows the secrets key', async () => {
    const set = await strata(['secrets', 'set', 'cli-token', '--url', gov.worker.url], {
      stdin: 's3cr3t-from-stdin\n',
    });
    const code = set.code;
    expect(code).toBe(0);
    expect(gov.worker.db.db.prepare('SELECT name FROM secrets').all()).toEqual(
      expect.arrayContaining([{ name: 'cli-token' }]),
    );
    const list = await strata(['secrets', 'list', '--url', gov.worker.url, '--json']);
    expect(list.stdout).toContain('cli-token');
    expect(list.stdout).not.toContain('s3cr3t');
    const shown = await strata(['config'], { env: { STRATA_SECRETS_KEY: 'very-secret-store-key' } });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toContain('very-secret-store-key');
  }, 600_000);
});
