/**
 * Tenant usage is summed in memory and written inside the next transaction (src/tenants/usage.ts):
 * a read right after an invocation already includes it, the figures are the plain sums, a
 * rolled-back transaction loses nothing, and closing the database writes what is still pending.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/core/execution.ts';
import { Database } from '../../src/store/database.ts';
import { TenantUsage } from '../../src/tenants/usage.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const dbPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-test-usage-'));
  dirs.push(dir);
  return join(dir, 'strata.db');
};

const record = (tenant: string | undefined, finishedAt: string, cpuMs: number, peak?: number) =>
  ({
    function: { name: tenant ? `${tenant}/f` : 'f', version: 1 },
    ...(tenant ? { tenant } : {}),
    timings: { finishedAt },
    usage: { wallMs: 2000, cpuMs, ...(peak !== undefined ? { memoryPeakBytes: peak } : {}) },
  }) as unknown as ExecutionRecord;

const rows = (db: Database) => db.db.prepare('SELECT * FROM tenant_usage ORDER BY tenant, day').all();
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('tenant usage', () => {
  it('a read includes every observed record at once, summed exactly per tenant and day', () => {
    const db = new Database(':memory:');
    const usage = new TenantUsage(db);
    usage.observe(record('acme', '2026-01-01T10:00:00Z', 1.5, 2 * 1024 ** 2));
    usage.observe(record('acme', '2026-01-01T11:00:00Z', 2.25));
    usage.observe(record('acme', '2026-01-02T00:00:01Z', 4));
    usage.observe(record('other', '2026-01-01T10:00:00Z', 8));
    expect(usage.days('acme')).toEqual([
      { day: '2026-01-01', invocations: 2, cpuMs: 3.75, memoryMbSeconds: 4 },
      { day: '2026-01-02', invocations: 1, cpuMs: 4, memoryMbSeconds: 0 },
    ]);
    expect(usage.days('other')).toEqual([{ day: '2026-01-01', invocations: 1, cpuMs: 8, memoryMbSeconds: 0 }]);
    // Later records add to the stored rows.
    usage.observe(record('acme', '2026-01-01T12:00:00Z', 0.25));
    expect(usage.days('acme')[0]).toEqual({ day: '2026-01-01', invocations: 3, cpuMs: 4, memoryMbSeconds: 4 });
    db.close();
  });

  it('the sums ride the next transaction (the records group commit), or commit on their own soon after', async () => {
    const db = new Database(':memory:');
    const usage = new TenantUsage(db);
    for (let i = 0; i < 5; i++) usage.observe(record('acme', '2026-01-01T10:00:00Z', 1));
    expect(rows(db)).toEqual([]);
    db.transaction(() => {});
    expect(rows(db)).toEqual([{ tenant: 'acme', day: '2026-01-01', invocations: 5, cpu_ms: 5, memory_mb_seconds: 0 }]);
    usage.observe(record('acme', '2026-01-01T10:00:00Z', 1));
    while ((rows(db)[0] as { invocations: number }).invocations < 6) await nextTurn();
    db.close();
  });

  it('a transaction that rolls back keeps the sums pending; nothing is counted twice', () => {
    const db = new Database(':memory:');
    const usage = new TenantUsage(db);
    usage.observe(record('acme', '2026-01-01T10:00:00Z', 1));
    expect(() =>
      db.transaction(() => {
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(rows(db)).toEqual([]);
    usage.observe(record('acme', '2026-01-01T10:00:00Z', 2));
    expect(usage.days('acme')).toEqual([{ day: '2026-01-01', invocations: 2, cpuMs: 3, memoryMbSeconds: 0 }]);
    db.transaction(() => {});
    expect(usage.days('acme')).toEqual([{ day: '2026-01-01', invocations: 2, cpuMs: 3, memoryMbSeconds: 0 }]);
    db.close();
  });

  it('closing the database writes what is pending', () => {
    const path = dbPath();
    const db = new Database(path);
    new TenantUsage(db).observe(record('acme', '2026-01-01T10:00:00Z', 3));
    db.close();
    const reopened = new Database(path);
    expect(new TenantUsage(reopened).days('acme')).toEqual([
      { day: '2026-01-01', invocations: 1, cpuMs: 3, memoryMbSeconds: 0 },
    ]);
    reopened.close();
  });
});
