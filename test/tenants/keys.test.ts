/**
 * API keys through the HTTP API: made by the bootstrap admin token, shown once and stored as a
 * hash, listed, revoked and expired (an injected clock) with effect on the very next request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, errorOf, startTenantWorker, type TenantWorker } from './support.ts';

let t: TenantWorker;
beforeAll(async () => {
  t = await startTenantWorker({ apiTokens: ['legacy-token-0123456789'] });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('keys', () => {
  it('POST /v1/keys answers 201 {id, key, tenant, scopes}; the key is stored only as a hash', async () => {
    const res = await t.call(ADMIN, 'POST', '/v1/keys', { tenant: 'acme', scopes: ['invoke', 'functions:read'] });
    expect(res.status).toBe(201);
    const made = (await res.json()) as Record<string, unknown>;
    expect(made).toMatchObject({ tenant: 'acme', scopes: ['invoke', 'functions:read'] });
    expect(made.id).toMatch(/^[0-9a-f]{16}$/);
    expect(made.key).toMatch(/^stk_/);
    const row = t.worker.db.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(made.id as string) as Record<
      string,
      unknown
    >;
    expect(JSON.stringify(row)).not.toContain((made.key as string).slice(24));
    t.worker.db.db.exec('PRAGMA wal_checkpoint(FULL)');
    const file = readFileSync(join(t.worker.config.dataDir, 'strata.db'));
    expect(file.includes(Buffer.from(made.key as string))).toBe(false);
    const list = (await (await t.call(ADMIN, 'GET', '/v1/keys')).json()) as { keys: Record<string, unknown>[] };
    const listed = list.keys.find((k) => k.id === made.id);
    expect(listed).toMatchObject({
      id: made.id,
      tenant: 'acme',
      scopes: ['invoke', 'functions:read'],
      lastUsedAt: null,
    });
    expect(listed).toHaveProperty('createdAt');
    expect(JSON.stringify(list)).not.toContain(made.key as string);
  });

  it('refuses bad input with 400 and non-admin keys with 403 naming admin', async () => {
    expect((await t.call(ADMIN, 'POST', '/v1/keys', { tenant: 'acme', scopes: ['root'] })).status).toBe(400);
    expect((await t.call(ADMIN, 'POST', '/v1/keys', { tenant: 'Not Valid', scopes: ['invoke'] })).status).toBe(400);
    expect((await t.call(ADMIN, 'POST', '/v1/keys', { tenant: 'acme', scopes: [] })).status).toBe(400);
    expect(
      (await t.call(ADMIN, 'POST', '/v1/keys', { tenant: 'acme', scopes: ['invoke'], expires: 'soon' })).status,
    ).toBe(400);
    const { key } = await t.key('acme', ['functions:read', 'functions:write', 'invoke', 'executions:read']);
    const res = await t.call(key, 'POST', '/v1/keys', { tenant: 'acme', scopes: ['admin'] });
    expect(res.status).toBe(403);
    const error = await errorOf(res);
    expect(error.code).toBe('forbidden');
    expect(error.message).toContain('"admin"');
    expect(error.details).toEqual({ scope: 'admin' });
  });

  it('401 without a key and with an unknown one; lastUsedAt is set once a key is used', async () => {
    expect((await t.call(undefined, 'GET', '/v1/functions')).status).toBe(401);
    const unknown = await t.call(
      'stk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'GET',
      '/v1/functions',
    );
    expect(unknown.status).toBe(401);
    expect((await errorOf(unknown)).code).toBe('unauthorized');
    const { id, key } = await t.key('used', ['functions:read']);
    expect((await t.call(key, 'GET', '/v1/functions')).status).toBe(200);
    const list = (await (await t.call(ADMIN, 'GET', '/v1/keys?tenant=used')).json()) as {
      keys: { id: string; lastUsedAt: string }[];
    };
    expect(list.keys).toHaveLength(1);
    expect(list.keys[0]?.id).toBe(id);
    expect(list.keys[0]?.lastUsedAt).toBe(new Date(t.clock.now()).toISOString());
  });

  it('a revoked key stops working on the next request', async () => {
    const { id, key } = await t.key('acme', ['functions:read']);
    expect((await t.call(key, 'GET', '/v1/functions')).status).toBe(200);
    const revoked = await t.call(ADMIN, 'DELETE', `/v1/keys/${id}`);
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: string }).revokedAt).toBeTruthy();
    const after = await t.call(key, 'GET', '/v1/functions');
    expect(after.status).toBe(401);
    expect((await errorOf(after)).message).toContain('revoked');
    expect((await t.call(ADMIN, 'DELETE', '/v1/keys/ffffffffffffffff')).status).toBe(404);
  });

  it('an expired key stops working the moment it expires (injected clock)', async () => {
    const { key } = await t.key('acme', ['functions:read'], '1h');
    expect((await t.call(key, 'GET', '/v1/functions')).status).toBe(200);
    t.clock.advance(60 * 60 * 1000 - 1);
    expect((await t.call(key, 'GET', '/v1/functions')).status).toBe(200);
    t.clock.advance(1);
    const after = await t.call(key, 'GET', '/v1/functions');
    expect(after.status).toBe(401);
    expect((await errorOf(after)).message).toContain('expired');
  });

  it('the older shared token (STRATA_API_TOKENS) is an admin key of the default tenant', async () => {
    const legacy = 'legacy-token-0123456789';
    expect((await t.call(legacy, 'POST', '/v1/keys', { tenant: 'x', scopes: ['invoke'] })).status).toBe(201);
    const deploy = await t.call(legacy, 'POST', '/v1/functions', {
      name: 'legacy-fn',
      runtime: 'js',
      trust: 'trusted',
      source: 'export default () => 1',
    });
    expect(deploy.status).toBe(201);
    // The admin token is the same tenant: it sees the function.
    expect((await t.call(ADMIN, 'GET', '/v1/functions/legacy-fn')).status).toBe(200);
  });

  it('/healthz stays open; /metrics needs a key once keys exist', async () => {
    expect((await t.call(undefined, 'GET', '/healthz')).status).toBe(200);
    expect((await t.call(undefined, 'GET', '/metrics')).status).toBe(401);
    const { key } = await t.key('acme', ['invoke']);
    expect((await t.call(key, 'GET', '/metrics')).status).toBe(200);
  });
});

describe('a worker without keys', () => {
  it('is open on loopback (default tenant, admin) and locks as soon as a key exists', async () => {
    const open = await startTenantWorker({ 'tenants.adminToken': '' });
    try {
      expect((await open.call(undefined, 'GET', '/v1/functions')).status).toBe(200);
      expect((await open.call(undefined, 'GET', '/metrics')).status).toBe(200);
      const made = await open.call(undefined, 'POST', '/v1/keys', { tenant: 'default', scopes: ['admin'] });
      expect(made.status).toBe(201);
      const { key } = (await made.json()) as { key: string };
      expect((await open.call(undefined, 'GET', '/v1/functions')).status).toBe(401);
      expect((await open.call(key, 'GET', '/v1/functions')).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
