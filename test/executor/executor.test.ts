/**
 * The Executor with a fake sandbox driver: admission (slots, priority queue, 503), deadlines,
 * cancellation, drain and shutdown, placement refusals, governor decisions and persisted records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StrataError } from '../../src/core/errors.ts';
import type { ExecutionRecord } from '../../src/core/execution.ts';
import type { ResourceGovernor } from '../../src/executor/executor.ts';
import { ExecutionStore } from '../../src/executor/records.ts';
import type { InvokeRequest } from '../../src/executor/types.ts';
import { Database } from '../../src/store/database.ts';
import { artifactOf, type Script } from './fake-driver.ts';
import { setup } from './setup.ts';

const open: Database[] = [];

afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

const fn = artifactOf();
const request = (input: Script, extra: Partial<InvokeRequest> = {}): InvokeRequest => ({
  artifact: fn,
  input,
  source: 'http',
  ...extra,
});

const thrown = (action: () => unknown): StrataError => {
  try {
    action();
  } catch (err) {
    return err as StrataError;
  }
  throw new Error('expected a throw');
};

describe('Executor', () => {
  it('runs an invocation and persists its final record', async () => {
    const { executor, records, driver } = setup();
    const events: string[] = [];
    executor.on('start', (r) => events.push(`start ${r.status}`));
    executor.on('finish', (r) => events.push(`finish ${r.status}`));
    const { id, done } = executor.submit(request({ result: { answer: 42 }, log: 'hello\n' }, { priority: 7 }));
    const record = await done;
    expect(record).toMatchObject({
      id,
      status: 'succeeded',
      result: { answer: 42 },
      logs: 'hello\n',
      tier: 'isolate',
      priority: 7,
      source: 'http',
      function: { name: fn.name, version: 1, digest: fn.digest },
    });
    expect(record.usage.measured).toContain('wallMs');
    expect(record.timings.startedAt).not.toBeNull();
    expect(record.timings.finishedAt).not.toBeNull();
    expect(records.get(id)).toEqual(JSON.parse(JSON.stringify(record)));
    expect(events).toEqual(['start running', 'finish succeeded']);
    expect(driver.prepared).toEqual([fn.digest]);
  });

  it('never runs more than `concurrency` invocations at once', async () => {
    const { executor, driver } = setup({ 'executor.concurrency': 2 });
    const subs = Array.from({ length: 6 }, (_, i) => executor.submit(request({ ms: 40, result: i })));
    expect(executor.stats()).toMatchObject({ running: 2, queued: 4, concurrency: 2, freeSlots: 0 });
    const results = await Promise.all(subs.map((s) => s.done));
    expect(results.map((r) => r.result)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(driver.maxRunning).toBe(2);
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0, freeSlots: 2 });
    // A queued invocation waited for its slot.
    expect(results.some((r) => r.timings.queuedMs > 0)).toBe(true);
  });

  it('starts queued invocations by priority, first come first served within one', async () => {
    const { executor, driver } = setup({ 'executor.concurrency': 1 });
    const blocker = executor.submit(request({ ms: 50 }, { executionId: 'blocker' }));
    const order = [
      ['low', 1],
      ['high-1', 9],
      ['mid', 5],
      ['high-2', 9],
      ['zero', 0],
    ] as const;
    const subs = order.map(([id, priority]) => executor.submit(request({}, { executionId: id, priority })));
    await Promise.all([blocker.done, ...subs.map((s) => s.done)]);
    expect(driver.started).toEqual(['blocker', 'high-1', 'high-2', 'mid', 'low', 'zero']);
  });

  it('answers capacity_exhausted with retryAfterMs when slots and queue are full', async () => {
    const { executor } = setup({ 'executor.concurrency': 1, 'executor.queueSize': 1 });
    const running = executor.submit(request({ hang: true }));
    const queued = executor.submit(request({}));
    const err = thrown(() => executor.submit(request({})));
    expect(err).toBeInstanceOf(StrataError);
    expect(err.code).toBe('capacity_exhausted');
    expect(err.details).toEqual({ retryAfterMs: 1500 });
    expect(err.message).toMatch(/retry after 2 s/);
    expect(executor.stats()).toMatchObject({ running: 1, queued: 1 });
    await executor.cancel(running.id);
    expect((await queued.done).status).toBe('succeeded');
  });

  it('times out at the function deadline with an abort reason coded timeout', async () => {
    const { executor, driver } = setup();
    const slow = artifactOf({ limits: { timeoutMs: 150 } });
    const started = Date.now();
    const { id, done } = executor.submit({ artifact: slow, input: { hang: true }, source: 'http' });
    const record = await done;
    expect(record.status).toBe('timeout');
    expect(record.error?.code).toBe('timeout');
    expect(record.error?.message).toMatch(/150 ms/);
    expect((driver.aborted.get(id) as StrataError).code).toBe('timeout');
    // The handler hangs forever: any bound proves the deadline ended it; generous for a busy machine.
    expect(Date.now() - started).toBeLessThan(150 + 15_000);
  });

  it('applies a tighter per-request timeout (the Master task timeout)', async () => {
    const { executor } = setup();
    const record = await executor.submit(request({ hang: true }, { timeoutMs: 100 })).done;
    expect(record.status).toBe('timeout');
    expect(record.error?.message).toMatch(/100 ms/);
  });

  it('cancels a queued invocation without running it, and a running one through its signal', async () => {
    const { executor, driver, records } = setup({ 'executor.concurrency': 1 });
    const running = executor.submit(request({ hang: true }, { executionId: 'run-1' }));
    const queued = executor.submit(request({}, { executionId: 'queued-1' }));
    expect(executor.liveRecord('queued-1')?.status).toBe('queued');
    expect(await executor.cancel('queued-1')).toBe(true);
    expect(await queued.done).toMatchObject({ status: 'killed', error: { code: 'cancelled' } });
    expect(driver.started).not.toContain('queued-1');
    expect(executor.liveRecord('run-1')?.status).toBe('running');
    expect(await executor.cancel('run-1', new StrataError('reclaimed', 'make room'))).toBe(true);
    expect(await running.done).toMatchObject({ status: 'killed', error: { code: 'reclaimed', message: 'make room' } });
    expect((driver.aborted.get('run-1') as StrataError).code).toBe('reclaimed');
    expect(records.get('run-1')?.status).toBe('killed');
    expect(await executor.cancel('nope')).toBe(false);
    expect(executor.liveRecord('run-1')).toBeUndefined();
  });

  it('cancels through the request signal (client gone), even one that fired before submit', async () => {
    const { executor, driver } = setup();
    const controller = new AbortController();
    const live = executor.submit(request({ hang: true }, { signal: controller.signal }));
    controller.abort();
    expect(await live.done).toMatchObject({ status: 'killed', error: { code: 'cancelled' } });
    const early = executor.submit(request({ hang: true }, { signal: AbortSignal.abort() }));
    expect(await early.done).toMatchObject({ status: 'killed', error: { code: 'cancelled' } });
    expect(driver.started).not.toContain(early.id);
  });

  it('drain() refuses new work and resolves when queued and running work is done', async () => {
    const { executor } = setup({ 'executor.concurrency': 1 });
    const subs = [executor.submit(request({ ms: 30 })), executor.submit(request({ ms: 30 }))];
    let drained = false;
    const draining = executor.drain().then(() => {
      drained = true;
    });
    expect(executor.stats().draining).toBe(true);
    expect(thrown(() => executor.submit(request({}))).code).toBe('shutting_down');
    await new Promise((r) => setTimeout(r, 10));
    expect(drained).toBe(false);
    await draining;
    for (const s of subs) expect((await s.done).status).toBe('succeeded');
  });

  it('shutdown() lets short work finish and cancels the rest after the grace', async () => {
    const { executor } = setup({ 'executor.concurrency': 1 });
    const quick = executor.submit(request({ ms: 20 }));
    const stuck = executor.submit(request({ hang: true }));
    const waiting = executor.submit(request({}));
    await executor.shutdown(300);
    expect((await quick.done).status).toBe('succeeded');
    expect(await stuck.done).toMatchObject({ status: 'killed', error: { code: 'shutting_down' } });
    expect(await waiting.done).toMatchObject({ status: 'killed', error: { code: 'shutting_down' } });
    expect(executor.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('rejects, with a persisted record, what no tier can run', async () => {
    const { executor, driver, records } = setup();
    const http = artifactOf({ runtime: 'http', url: 'http://127.0.0.1:1/', source: undefined });
    const none = await executor.submit({ artifact: http, input: null, source: 'http' }).done;
    expect(none).toMatchObject({ status: 'rejected', tier: null, error: { code: 'unsupported_runtime' } });
    expect(records.get(none.id)?.status).toBe('rejected');
    // The tier exists but is down: tier_unavailable naming it.
    driver.health_ = { available: false, reason: 'no isolate host is running' };
    const down = await executor.submit(request({})).done;
    expect(down).toMatchObject({ status: 'rejected', tier: null, error: { code: 'tier_unavailable' } });
    expect(down.error?.message).toMatch(/isolate: no isolate host is running/);
    expect(driver.started).toEqual([]);
    await expect(executor.validate(http)).rejects.toMatchObject({ code: 'unsupported_runtime' });
  });

  it('rejects code its tier refuses at prepare, and kills on a driver bug', async () => {
    const { executor, driver } = setup();
    driver.prepareError = new StrataError('invalid_code', 'does not compile');
    expect(await executor.submit(request({})).done).toMatchObject({
      status: 'rejected',
      error: { code: 'invalid_code' },
    });
    driver.prepareError = undefined;
    expect(await executor.submit(request({ throw: 'oops' })).done).toMatchObject({
      status: 'killed',
      error: { code: 'internal', message: 'the isolate tier failed: oops' },
    });
  });

  it('persists a durable (async) invocation while it is still queued', async () => {
    const { executor, records } = setup({ 'executor.concurrency': 1 });
    const blocker = executor.submit(request({ ms: 50 }));
    const durable = executor.submit(request({}, { durable: true, executionId: 'async-1' }));
    expect(records.get('async-1')?.status).toBe('queued');
    await Promise.all([blocker.done, durable.done]);
    expect(records.get('async-1')?.status).toBe('succeeded');
    executor.submit(request({ hang: true }, { executionId: 'dup' }));
    expect(thrown(() => executor.submit(request({}, { executionId: 'dup' }))).code).toBe('invalid_request');
    await executor.cancel('dup');
  });

  it('asks the governor: never -> rejected, not now -> waits for room; observe adds anomalies', async () => {
    let allow = true;
    const governor: ResourceGovernor = {
      admission: (req, running) => {
        if (req.priority === 99) return { admit: false, never: true, reason: 'asks more memory than the node has' };
        if (!allow && running.length > 0) return { admit: false, never: false, reason: 'busy' };
        return { admit: true };
      },
      observe: () => ['cpu_spike'],
    };
    const { executor, driver } = setup({ 'executor.concurrency': 4 }, { governor });
    const never = await executor.submit(request({}, { priority: 99 })).done;
    expect(never).toMatchObject({
      status: 'rejected',
      error: { code: 'capacity_exhausted', message: 'asks more memory than the node has' },
    });
    expect(driver.started).not.toContain(never.id);
    allow = false;
    const first = executor.submit(request({ ms: 80 }));
    const second = executor.submit(request({}));
    expect(executor.stats()).toMatchObject({ running: 1, queued: 1 });
    allow = true;
    const [a, b] = (await Promise.all([first.done, second.done])) as [ExecutionRecord, ExecutionRecord];
    expect(a.status).toBe('succeeded');
    expect(b.status).toBe('succeeded');
    expect(driver.maxRunning).toBe(1);
    expect(b.anomalies).toEqual(['cpu_spike']);
  });
});

function recordOf(id: string, status: ExecutionRecord['status'], enqueuedAt = new Date()): ExecutionRecord {
  return {
    id,
    function: { name: 'f', version: 1, digest: 'd' },
    status,
    logs: '',
    usage: { wallMs: 0, measured: [] },
    tier: 'isolate',
    priority: 0,
    source: 'http',
    timings: { queuedMs: 0, enqueuedAt: enqueuedAt.toISOString(), startedAt: null, finishedAt: null },
  };
}

describe('ExecutionStore', () => {
  it('closes records a crashed worker left queued or running as killed/interrupted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-exec-'));
    try {
      const path = join(dir, 'strata.db');
      const before = new Database(path);
      const store = new ExecutionStore(before, 100);
      store.save(recordOf('q', 'queued'));
      store.save(recordOf('r', 'running'));
      store.save({ ...recordOf('s', 'succeeded'), result: 1 });
      before.close();
      // A restart: the same file, a new store.
      const after = new Database(path);
      open.push(after);
      const restarted = new ExecutionStore(after, 100);
      expect(restarted.closeInterrupted()).toBe(2);
      for (const id of ['q', 'r']) {
        expect(restarted.get(id)).toMatchObject({ status: 'killed', error: { code: 'interrupted' } });
        expect(restarted.get(id)?.timings.finishedAt).not.toBeNull();
      }
      expect(restarted.get('s')).toMatchObject({ status: 'succeeded', result: 1 });
      expect(restarted.closeInterrupted()).toBe(0);
    } finally {
      for (const db of open.splice(0)) db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prunes to the newest `retention` records', () => {
    const db = new Database(':memory:');
    open.push(db);
    const store = new ExecutionStore(db, 2);
    for (let i = 0; i < 4; i++) store.save(recordOf(`e${i}`, 'succeeded', new Date(1_000_000 + i)));
    store.prune();
    expect(['e0', 'e1', 'e2', 'e3'].map((id) => store.get(id)?.id)).toEqual([undefined, undefined, 'e2', 'e3']);
  });
});
