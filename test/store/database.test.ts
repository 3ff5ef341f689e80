/** node:sqlite wrapper (WAL, namespaced migrations) and execution records across a restart. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/core/execution.ts';
import { usageOf } from '../../src/core/execution.ts';
import { EXECUTION_MIGRATIONS, ExecutionStore } from '../../src/executor/records.ts';
import { Database } from '../../src/store/database.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const record = (id: string, status: ExecutionRecord['status'], at = new Date().toISOString()): ExecutionRecord => ({
  id,
  function: { name: 'f', version: 1, digest: 'd'.repeat(64) },
  status,
  ...(status === 'succeeded' ? { result: { ok: id } } : {}),
  logs: `log of ${id}`,
  usage: usageOf({ wallMs: 3, cpuMs: 1 }),
  tier: 'isolate',
  priority: 0,
  source: 'http',
  timings: { queuedMs: 0, enqueuedAt: at, startedAt: at, finishedAt: status === 'running' ? null : at },
});

describe('Database', () => {
  it('opens in WAL mode, in a directory it creates', () => {
    const db = new Database(join(dir, 'nested', 'strata.db'));
    const mode = db.db.prepare('PRAGMA journal_mode').get() as { journal_mode: string };
    expect(mode.journal_mode).toBe('wal');
    expect(db.db.prepare('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 4000 });
    db.close();
    db.close(); // idempotent
  });

  it('runs each namespace’s migration steps once, in order, and only the new ones later', () => {
    const path = join(dir, 'strata.db');
    let db = new Database(path);
    db.migrate('alpha', ['CREATE TABLE a (x INTEGER)', 'INSERT INTO a VALUES (1)']);
    db.migrate('beta', ['CREATE TABLE b (y INTEGER)']);
    db.migrate('alpha', ['CREATE TABLE a (x INTEGER)', 'INSERT INTO a VALUES (1)']);
    db.close();

    db = new Database(path);
    db.migrate('alpha', ['CREATE TABLE a (x INTEGER)', 'INSERT INTO a VALUES (1)', 'INSERT INTO a VALUES (2)']);
    expect(db.db.prepare('SELECT x FROM a ORDER BY x').all()).toEqual([{ x: 1 }, { x: 2 }]);
    const steps = db.db
      .prepare('SELECT namespace, step FROM schema_migrations ORDER BY namespace, step')
      .all()
      .map((r) => `${r.namespace}:${r.step}`);
    expect(steps).toEqual(['alpha:1', 'alpha:2', 'alpha:3', 'beta:1']);
    db.close();
  });

  it('rolls a failed migration step back and does not record it', () => {
    const db = new Database(join(dir, 'strata.db'));
    expect(() => db.migrate('bad', ['CREATE TABLE ok (x INTEGER); CREATE TABLE ok (x INTEGER)'])).toThrow();
    expect(db.db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE namespace = 'bad'").get()).toEqual({
      n: 0,
    });
    db.migrate('bad', ['CREATE TABLE ok (x INTEGER)']);
    expect(db.db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE namespace = 'bad'").get()).toEqual({
      n: 1,
    });
    db.close();
  });
});

describe('ExecutionStore', () => {
  it('loses no finished record across a restart, and closes interrupted ones as killed', () => {
    const path = join(dir, 'strata.db');
    let db = new Database(path);
    let store = new ExecutionStore(db, 100);
    store.save(record('done', 'succeeded'));
    store.save(record('failed', 'failed'));
    store.save(record('in-flight', 'running'));
    db.close();

    db = new Database(path);
    store = new ExecutionStore(db, 100);
    expect(store.get('done')).toMatchObject({ status: 'succeeded', result: { ok: 'done' }, logs: 'log of done' });
    expect(store.get('failed')?.status).toBe('failed');
    expect(store.closeInterrupted()).toBe(1);
    expect(store.get('in-flight')).toMatchObject({ status: 'killed', error: { code: 'interrupted' } });
    expect(store.get('in-flight')?.timings.finishedAt).not.toBeNull();
    expect(store.closeInterrupted()).toBe(0);
    expect(store.get('nope')).toBeUndefined();
    db.close();
  });

  it('updates a record in place and prunes to the newest `retention`', () => {
    const db = new Database(join(dir, 'strata.db'));
    const store = new ExecutionStore(db, 2);
    store.save(record('x', 'running'));
    store.save(record('x', 'succeeded'));
    expect(store.get('x')?.status).toBe('succeeded');
    store.save(record('old', 'succeeded', '2020-01-01T00:00:00.000Z'));
    store.save(record('new', 'succeeded', '2030-01-01T00:00:00.000Z'));
    store.prune();
    expect(store.get('old')).toBeUndefined();
    expect(store.get('new')).toBeDefined();
    expect(store.get('x')).toBeDefined();
    db.close();
  });

  it('moves a database of the previous schema to the tier column, keeping every record findable', () => {
    const path = join(dir, 'strata.db');
    const old = new Database(path);
    // The executions schema as the previous release left it (steps 1-3).
    old.migrate('executions', EXECUTION_MIGRATIONS.slice(0, 3));
    const insert = old.db.prepare(
      'INSERT INTO executions (id, function_name, function_version, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const [id, tier] of [
      ['a', 'isolate'],
      ['b', 'wasm'],
      ['c', 'wasm'],
    ] as const) {
      const r = { ...record(id, 'succeeded'), tier };
      insert.run(id, 'f', 1, 'succeeded', r.timings.enqueuedAt, JSON.stringify(r));
    }
    old.close();

    const db = new Database(path);
    const store = new ExecutionStore(db, 100);
    store.save({ ...record('d', 'succeeded'), tier: 'wasm' });
    const ids = (tier: string) =>
      store
        .list({ tier, limit: 10 })
        .map((r) => r.id)
        .sort();
    expect(ids('wasm')).toEqual(['b', 'c', 'd']);
    expect(ids('isolate')).toEqual(['a']);
    // The tier filter walks the column's index; no index is a leading prefix of another (each one
    // is written by every insert of the group commit).
    const plan = db.db
      .prepare('EXPLAIN QUERY PLAN SELECT record FROM executions WHERE tier = ? ORDER BY created_at DESC, id DESC')
      .all('wasm') as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('executions_tier_created');
    const indexes = (db.db.prepare("PRAGMA index_list('executions')").all() as { name: string }[]).map((i) =>
      (db.db.prepare(`PRAGMA index_info('${i.name}')`).all() as { name: string | null }[]).map(
        (c) => c.name ?? '<expr>',
      ),
    );
    expect(indexes.flat()).not.toContain('<expr>');
    for (const a of indexes)
      for (const b of indexes)
        if (a !== b) expect(a.every((col, k) => b[k] === col) && a.length < b.length).toBe(false);
    db.close();
  });
});
