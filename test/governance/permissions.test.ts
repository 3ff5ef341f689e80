/**
 * One permission model, checked at deploy through the HTTP app: the node's cap per trust level
 * (403 permission_denied naming the permission), secrets only where permitted and listed, and a
 * tier that cannot enforce an ask refuses the deploy instead of granting more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GovWorker, startGovWorker } from './support.ts';

let gov: GovWorker;
beforeAll(async () => {
  gov = await startGovWorker({ 'http.allow': '127.0.0.1' });
});
afterAll(async () => {
  await gov?.close();
});

const refusal = async (res: Response) => {
  const body = (await res.json()) as { error: { code: string; message: string; details?: Record<string, unknown> } };
  return { status: res.status, ...body.error };
};

describe('permissions at deploy', () => {
  it('network beyond the trust level cap -> 403 permission_denied naming network', async () => {
    const r = await refusal(
      await gov.call('POST', '/v1/functions', {
        name: 'net',
        runtime: 'script',
        interpreter: 'sh',
        trust: 'standard',
        source: 'cat\n',
        permissions: { network: { allow: ['api.example.com:443'] } },
      }),
    );
    expect(r).toMatchObject({ status: 403, code: 'permission_denied', details: { permission: 'network' } });
    expect(r.message).toContain('permissions.network');
  });

  it('secrets for an untrusted function -> 403 naming secrets (policy.permissions.untrusted.secrets)', async () => {
    const r = await refusal(
      await gov.call('POST', '/v1/functions', {
        name: 'sec',
        runtime: 'http',
        trust: 'untrusted',
        url: 'http://127.0.0.1:9/x',
        secrets: { Authorization: { secret: 'tok' } },
        permissions: { secrets: ['tok'] },
      }),
    );
    expect(r).toMatchObject({ status: 403, code: 'permission_denied', details: { permission: 'secrets' } });
    expect(r.message).toContain('policy.permissions.untrusted.secrets');
  });

  it('a tier that cannot enforce an allow-list refuses the deploy (trusted JS asking all of the network)', async () => {
    // The isolate enforces an allow-list (ctx.fetch), never "everything"; no JS tier grants `true` to trusted code.
    const r = await refusal(
      await gov.call('POST', '/v1/functions', {
        name: 'iso-net',
        runtime: 'js',
        trust: 'trusted',
        source: 'export default () => 1',
        permissions: { network: true },
      }),
    );
    expect(r.status).toBe(403);
    expect(r.code).toBe('permission_denied');
    expect(r.message).toContain('network');
  });

  it('trusted JS asking an allow-list is placed in the isolate, which enforces it through ctx.fetch', async () => {
    const res = await gov.call('POST', '/v1/functions', {
      name: 'iso-list',
      runtime: 'js',
      trust: 'trusted',
      source: 'export default () => 1',
      permissions: { network: { allow: ['api.example.com:443'] } },
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { tier: string }).tier).toBe('isolate');
  });

  it('http-only fields on another runtime are refused', async () => {
    const r = await refusal(
      await gov.call('POST', '/v1/functions', {
        name: 'mixed',
        runtime: 'script',
        interpreter: 'sh',
        source: 'cat\n',
        headers: { 'x-a': '1' },
      }),
    );
    expect(r).toMatchObject({ status: 400, code: 'invalid_manifest' });
  });

  it('header values with line breaks are refused (header injection)', async () => {
    const r = await refusal(
      await gov.call('POST', '/v1/functions', {
        name: 'inject',
        runtime: 'http',
        url: 'http://127.0.0.1:9/x',
        headers: { 'x-a': 'v\r\nHost: evil' },
      }),
    );
    expect(r).toMatchObject({ status: 400, code: 'invalid_manifest' });
  });
});
