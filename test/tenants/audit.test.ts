/**
 * The audit log: an entry for each audited action (deploy, delete, key create and revoke, quota
 * set, every denied request) with who, what, target, result, when, request id; paging with limit
 * and cursor, since and tenant filters; append-only in the database, copied to a JSONL file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/tenants/audit-log.ts';
import { ADMIN, js, startTenantWorker, type TenantWorker } from './support.ts';

let t: TenantWorker;
let auditFile: string;
beforeAll(async () => {
  t = await startTenantWorker({ 'tenants.auditFile': 'audit.jsonl' });
  auditFile = t.worker.config.tenants.auditFile;
}, 120_000);
afterAll(async () => {
  await t?.close();
});

async function page(query: string): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
  const res = await t.call(ADMIN, 'GET', `/v1/audit${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { items: AuditEntry[]; nextCursor: string | null };
}

describe('audit', () => {
  it('records each audited action with who, what, target, result and request id', async () => {
    const made = await t.key('audited', ['functions:write', 'functions:read']);
    const key = made.key;
    expect((await t.call(key, 'POST', '/v1/functions', js('logged', 'export default () => 1'))).status).toBe(201);
    expect((await t.call(key, 'DELETE', '/v1/functions/logged')).status).toBe(200);
    expect((await t.call(key, 'POST', '/v1/functions/logged/invoke', {})).status).toBe(403);
    expect((await t.call('stk_nope', 'GET', '/v1/functions')).status).toBe(401);
    expect((await t.call(ADMIN, 'PUT', '/v1/tenants/audited/quota', { rate: 5 })).status).toBe(200);
    expect((await t.call(ADMIN, 'DELETE', `/v1/keys/${made.id}`)).status).toBe(200);
    const { items } = await page('?limit=1000');
    const mine = items.filter((e) => e.tenant === 'audited' || e.target?.includes('audited') || e.keyId === null);
    const byAction = (action: string, result = 'ok') => mine.find((e) => e.action === action && e.result === result);
    expect(items.find((e) => e.action === 'key.create' && e.target === `key ${made.id} of audited`)).toMatchObject({
      keyId: 'admin-token',
      tenant: 'default',
      result: 'ok',
      status: 201,
    });
    expect(byAction('function.deploy')).toMatchObject({
      keyId: made.id,
      tenant: 'audited',
      target: 'logged@1',
      status: 201,
    });
    expect(byAction('function.delete')).toMatchObject({ keyId: made.id, target: 'logged', status: 200 });
    expect(mine.find((e) => e.result === 'denied' && e.status === 403)).toMatchObject({
      keyId: made.id,
      tenant: 'audited',
      target: 'POST /v1/functions/logged/invoke',
      details: { code: 'forbidden' },
    });
    expect(items.find((e) => e.result === 'denied' && e.status === 401)).toMatchObject({
      keyId: null,
      target: 'GET /v1/functions',
    });
    expect(byAction('quota.set')).toMatchObject({ keyId: 'admin-token', target: 'tenant audited' });
    expect(items.find((e) => e.action === 'key.revoke')).toMatchObject({
      keyId: 'admin-token',
      target: `key ${made.id} of audited`,
    });
    for (const e of items) {
      expect(e.at).toBe(new Date(t.clock.now()).toISOString());
      expect(e.requestId).toBeTruthy();
    }
    // Never the key itself.
    expect(JSON.stringify(items)).not.toContain(key);
  });

  it('pages with limit and cursor; filters by tenant and since', async () => {
    const all = (await page('?limit=1000')).items;
    expect(all.length).toBeGreaterThan(4);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const p: { items: AuditEntry[]; nextCursor: string | null } = await page(
        `?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(p.items.length).toBeLessThanOrEqual(2);
      seen.push(...p.items.map((e) => e.seq));
      cursor = p.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((e) => e.seq));
    const audited = (await page('?tenant=audited')).items;
    expect(audited.length).toBeGreaterThan(0);
    expect(audited.every((e) => e.tenant === 'audited')).toBe(true);
    t.clock.advance(60_000);
    const { key } = await t.key('later', ['invoke']);
    expect(key).toBeTruthy();
    const since = (await page(`?since=${new Date(t.clock.now()).toISOString()}`)).items;
    expect(since.map((e) => e.action)).toEqual(['key.create']);
    expect((await t.call(ADMIN, 'GET', '/v1/audit?cursor=garbage')).status).toBe(400);
    expect((await t.call(ADMIN, 'GET', '/v1/audit?limit=0')).status).toBe(400);
  });

  it('is append-only, and each entry is also a JSON line in tenants.auditFile', async () => {
    expect(() => t.worker.db.db.exec("UPDATE audit_log SET result = 'ok'")).toThrow(/append-only/);
    expect(() => t.worker.db.db.exec('DELETE FROM audit_log')).toThrow(/append-only/);
    expect(auditFile).toBe('audit.jsonl');
    const path = join(t.worker.config.dataDir, auditFile);
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    const all = (await page('?limit=1000')).items;
    expect(lines.map((l) => l.seq)).toEqual(all.map((e) => e.seq));
  });
});
