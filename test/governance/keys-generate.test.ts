/**
 * `strata keys generate --out FILE` (the form) and `strata signing generate` (kept): the
 * real CLI makes an ed25519 pair whose private key signs digests the worker's Signer accepts.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Signer, signDigest } from '../../src/governance/signing.ts';
import { strata } from '../cli/support.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-keys-generate-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const DIGEST = 'a'.repeat(64);

/** The pair in `file` signs a digest that a Signer configured with its public key verifies. */
function expectWorkingPair(file: string, publicKey: string, keyId: string): void {
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(readFileSync(`${file}.pub`, 'utf8').trim()).toBe(publicKey);
  const signer = new Signer({ keys: { [keyId]: publicKey }, requireFor: ['trusted'] });
  const sig = signDigest(readFileSync(file, 'utf8'), DIGEST);
  expect(signer.check(DIGEST, 'trusted', { keyId, sig })).toEqual({ keyId, sig });
  expect(() => signer.check('b'.repeat(64), 'trusted', { keyId, sig })).toThrow(/does not verify/);
}

describe('signing key generation through the CLI', () => {
  it('strata keys generate --out key writes a 0600 private key and prints the public key', async () => {
    const file = join(dir, 'key');
    const res = await strata(['keys', 'generate', '--out', file]);
    expect(res.code, res.stderr).toBe(0);
    const publicKey = res.stdout.trim();
    expect(res.stderr).toContain(`signing.keys = {"key"`);
    expectWorkingPair(file, publicKey, 'key');
    // Never overwrites an existing key.
    const again = await strata(['keys', 'generate', '--out', file]);
    expect(again.code).not.toBe(0);
    expect(readFileSync(`${file}.pub`, 'utf8').trim()).toBe(publicKey);
  }, 300_000);

  it('strata signing generate keeps working (--json)', async () => {
    const file = join(dir, 'ops.pem');
    const res = await strata(['signing', 'generate', '--out', file, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { keyId: string; publicKey: string; file: string };
    expect(out).toMatchObject({ keyId: 'ops', file });
    expectWorkingPair(file, out.publicKey, 'ops');
  }, 300_000);

  it('--help of keys and keys generate exits 0 and names generate', async () => {
    const [group, sub] = await Promise.all([strata(['keys', '--help']), strata(['keys', 'generate', '--help'])]);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/generate/);
    expect(group.stdout).toMatch(/create/);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--out <file>');
  }, 300_000);
});
