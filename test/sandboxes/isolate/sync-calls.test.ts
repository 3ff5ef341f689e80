/**
 * Warm calls on the isolate host's own thread (sandboxes/isolate/sync-calls.ts): which calls get
 * it (a function proven fast, sent back after its first slow call), and that everything the tier
 * promises holds on that path too — results, logs, timers, forged outcomes, timeouts, cancels
 * and memory limits — with a real host whose every warm call takes it (syncStreak 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsolateDriver } from '../../../sandboxes/isolate/driver.ts';
import { IsolateRuntime } from '../../../sandboxes/isolate/isolate-runtime.ts';
import { FAST_MS, FIRST_STREAK, SyncCalls } from '../../../sandboxes/isolate/sync-calls.ts';
import { isAlive, jsArtifact, poolSettled, runIn } from './helpers.ts';

describe('SyncCalls: which warm calls run on the host thread', () => {
  it('a function gets it after FIRST_STREAK fast calls in a row, loses it on a slow one, then needs twice the streak', () => {
    const calls = new SyncCalls('auto');
    for (let i = 0; i < FIRST_STREAK; i++) {
      expect(calls.onHostThread('a')).toBe(false);
      calls.record('a', FAST_MS / 2, true);
    }
    expect(calls.onHostThread('a')).toBe(true);
    expect(calls.onHostThread('b')).toBe(false);
    calls.record('a', FAST_MS * 5, true);
    expect(calls.demotions).toBe(1);
    for (let i = 0; i < 2 * FIRST_STREAK; i++) {
      expect(calls.onHostThread('a')).toBe(false);
      calls.record('a', 0, true);
    }
    expect(calls.onHostThread('a')).toBe(true);
    // A call that ended at a limit (not normal) counts as slow, however short.
    calls.record('a', 0, false);
    expect(calls.onHostThread('a')).toBe(false);
    expect(calls.demotions).toBe(2);
    calls.forget('a');
    expect(calls.onHostThread('a')).toBe(false);
  });

  it('a slow call before the streak is complete starts it again', () => {
    const calls = new SyncCalls('auto', 3);
    calls.record('a', 0, true);
    calls.record('a', 0, true);
    calls.record('a', FAST_MS, true);
    calls.record('a', 0, true);
    calls.record('a', 0, true);
    expect(calls.onHostThread('a')).toBe(false);
    calls.record('a', 0, true);
    expect(calls.onHostThread('a')).toBe(true);
    expect(calls.demotions).toBe(0);
  });

  it('a long clean run forgives a demotion: four times the streak needed halves it', () => {
    const calls = new SyncCalls('auto');
    const fast = (n: number) => {
      for (let i = 0; i < n; i++) calls.record('a', 0, true);
    };
    fast(FIRST_STREAK);
    calls.record('a', FAST_MS * 5, true); // demoted: needs 2 x FIRST_STREAK now
    fast(2 * FIRST_STREAK - 1);
    expect(calls.onHostThread('a')).toBe(false);
    fast(1);
    expect(calls.onHostThread('a')).toBe(true);
    // 4 x (2 x FIRST_STREAK) fast calls in a row: the streak needed is FIRST_STREAK again, so
    // the next demotion asks for 2 x FIRST_STREAK (not 4 x).
    fast(6 * FIRST_STREAK);
    calls.record('a', FAST_MS * 5, true);
    expect(calls.demotions).toBe(2);
    fast(2 * FIRST_STREAK);
    expect(calls.onHostThread('a')).toBe(true);
    // Without the clean run the streak keeps doubling: slow again right after coming back.
    calls.record('a', FAST_MS * 5, true);
    fast(4 * FIRST_STREAK - 1);
    expect(calls.onHostThread('a')).toBe(false);
    fast(1);
    expect(calls.onHostThread('a')).toBe(true);
  });

  it('never gives it in `never` mode', () => {
    const calls = new SyncCalls('never', 0);
    for (let i = 0; i < 100; i++) calls.record('a', 0, true);
    expect(calls.onHostThread('a')).toBe(false);
    expect(calls.hostThreadCalls).toBe(0);
  });
});

describe('IsolateRuntime: promotion and demotion for real', () => {
  const source = `export default (input) => {
    if (input.spinMs) { const until = Date.now() + input.spinMs; while (Date.now() < until) {} }
    return { sum: input.a + input.b };
  }`;
  const request = (input: object, i: number) => ({
    digest: 'sync-runtime',
    source,
    mode: 'warm' as const,
    inputJson: JSON.stringify(input),
    deadline: Date.now() + 20_000,
    memoryMb: 64,
    logBytes: 4096,
    resultBytes: 65536,
    errorBytes: 16384,
    meta: { executionId: `e${i}`, name: 'add', version: 1 },
  });
  const signal = new AbortController().signal;

  it('a fast function moves to the host thread, a slow call sends it back; results are right either way', async () => {
    const runtime = new IsolateRuntime({ maxWarm: 4, onCatastrophe: () => {} });
    // Fast calls until one runs on the host thread (on a busy machine some calls are not fast:
    // the count of calls it takes is not the point, the move is).
    let i = 0;
    while (runtime.syncStats.hostThreadCalls === 0 && i < 5000) {
      const reply = await runtime.run(request({ a: i, b: 1 }, i), signal);
      expect(reply.status).toBe('succeeded');
      expect(JSON.parse(reply.resultJson ?? 'null')).toEqual({ sum: i + 1 });
      i++;
    }
    expect(runtime.syncStats.hostThreadCalls).toBeGreaterThan(0);
    expect(i).toBeGreaterThanOrEqual(FIRST_STREAK);
    // One slow call (its synchronous part far over FAST_MS) sends the function back.
    const slow = await runtime.run(request({ a: 1, b: 2, spinMs: FAST_MS * 10 }, i++), signal);
    expect(slow.status).toBe('succeeded');
    expect(JSON.parse(slow.resultJson ?? 'null')).toEqual({ sum: 3 });
    expect(runtime.syncStats.demotions).toBe(1);
    const onHostBefore = runtime.syncStats.hostThreadCalls;
    const next = await runtime.run(request({ a: 2, b: 2 }, i++), signal);
    expect(JSON.parse(next.resultJson ?? 'null')).toEqual({ sum: 4 });
    expect(runtime.syncStats.hostThreadCalls).toBe(onHostBefore);
  });

  it('calls in flight together keep the host thread (a call is judged by its time in the isolate, not its wait)', async () => {
    // 16 calls at a time: on the isolate's thread each waits for the others, so its wall time is
    // far over FAST_MS though its own time is microseconds. Judged by wall time, the first slow
    // call sent the function back and it never had a streak again (1 call in 20 on the host thread).
    const runtime = new IsolateRuntime({ maxWarm: 16, onCatastrophe: () => {} });
    let n = 0;
    const loop = async (calls: number) => {
      for (let k = 0; k < calls; k++) {
        const x = n++;
        const reply = await runtime.run(request({ a: x, b: 1 }, x), signal);
        expect(JSON.parse(reply.resultJson ?? 'null')).toEqual({ sum: x + 1 });
      }
    };
    await Promise.all(Array.from({ length: 16 }, () => loop(250)));
    expect(runtime.syncStats.hostThreadCalls).toBeGreaterThan(n / 2);
  });

  it('a call blocked in Atomics.wait on the host thread counts as slow and sends the function back', async () => {
    const waiter = `export default (input) => {
      if (input.waitMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, input.waitMs);
      return { sum: input.a + input.b };
    }`;
    const runtime = new IsolateRuntime({ maxWarm: 4, onCatastrophe: () => {}, syncStreak: 0 });
    const at = (input: object, i: number) => ({ ...request(input, i), digest: 'sync-waiter', source: waiter });
    expect((await runtime.run(at({ a: 1, b: 1 }, 0), signal)).status).toBe('succeeded');
    expect(runtime.syncStats.hostThreadCalls).toBe(1);
    const blocked = await runtime.run(at({ a: 1, b: 2, waitMs: FAST_MS * 10 }, 1), signal);
    expect(JSON.parse(blocked.resultJson ?? 'null')).toEqual({ sum: 3 });
    expect(runtime.syncStats.demotions).toBe(1);
  });

  it('`never` keeps every call on the isolate thread', async () => {
    const runtime = new IsolateRuntime({ maxWarm: 4, onCatastrophe: () => {}, syncCalls: 'never', syncStreak: 0 });
    for (let i = 0; i < 50; i++) await runtime.run(request({ a: i, b: 1 }, i), signal);
    expect(runtime.syncStats.hostThreadCalls).toBe(0);
  });
});

describe('isolate tier on the host thread: every warm call takes it (a real host)', () => {
  let driver: IsolateDriver;
  const seenPids = new Set<number>();
  beforeAll(async () => {
    driver = new IsolateDriver({ hosts: 1, maxWarm: 16, killAfterMs: 500, syncStreak: 0 });
    await driver.start();
    for (const pid of driver.pool.pids()) seenPids.add(pid);
  });
  afterAll(async () => {
    await driver.dispose();
    for (const pid of seenPids) expect(isAlive(pid), `host ${pid} outlived dispose()`).toBe(false);
  });
  const normal = jsArtifact('export default (input) => ({ doubled: input.n * 2 })');
  /** After an attack: the pool has its host again and a normal warm call succeeds. */
  const stillServes = async () => {
    expect(await poolSettled(driver, 1)).toBe(true);
    for (const pid of driver.pool.pids()) seenPids.add(pid);
    const ok = await runIn(driver, normal, { n: 21 }, { timeoutMs: 30_000 });
    expect(ok.outcome.status).toBe('succeeded');
    expect(ok.outcome.result).toEqual({ doubled: 42 });
  };

  it('returns results, logs in order, and keeps module state across calls', async () => {
    const fn = jsArtifact(
      'let calls = 0;\nexport default (input, ctx) => { calls++; console.log("a", input.x); ctx.log("b"); return { calls, x: input.x }; }',
    );
    for (const x of [1, 2, 3]) {
      const { outcome, logs } = await runIn(driver, fn, { x });
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result).toEqual({ calls: x, x });
      expect(logs.text()).toBe(`a ${x}\nb\n`);
    }
  });

  it('awaits an async function, its timers and a refused ctx.fetch (the pending path)', async () => {
    const fn = jsArtifact(`export default async (input, ctx) => {
      await new Promise((r) => setTimeout(r, 20));
      const refused = await ctx.fetch('http://127.0.0.1:9/').then(() => 'reached', (e) => e.code);
      return { n: input.n, refused };
    }`);
    const { outcome } = await runIn(driver, fn, { n: 7 }, { timeoutMs: 30_000 });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result).toEqual({ n: 7, refused: 'destination_forbidden' });
  });

  it('a forged Object.prototype.then does not change the outcome', async () => {
    const fn = jsArtifact(
      'export default () => { Object.prototype.then = function (resolve) { resolve({ kind: "ok", json: "\\"forged\\"", logs: "" }); }; return { real: true }; }',
    );
    for (let i = 0; i < 2; i++) {
      const { outcome } = await runIn(driver, fn);
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result).toEqual({ real: true });
    }
  });

  it('a throw fails with function_error; output after the return is dropped, not shown next time', async () => {
    const thrower = jsArtifact('export default () => { throw new Error("boom"); }');
    const failed = await runIn(driver, thrower);
    expect(failed.outcome.status).toBe('failed');
    expect(failed.outcome.error?.code).toBe('function_error');
    expect(failed.outcome.error?.message).toContain('boom');
    const leaky = jsArtifact(
      'export default (input, ctx) => { Promise.resolve().then(() => ctx.log("late " + input.n)); return input.n; }',
    );
    await runIn(driver, leaky, { n: 1 });
    const second = await runIn(driver, leaky, { n: 2 });
    expect(second.outcome.result).toBe(2);
    expect(second.logs.text()).not.toContain('late 1');
  });

  it('a log flood is kept to the budget (log chunks reach the host while it waits in the call)', async () => {
    const fn = jsArtifact(
      'export default () => { for (let i = 0; i < 200000; i++) console.log("line " + i); return 1; }',
    );
    const { outcome, logs } = await runIn(driver, fn, null, { logBytes: 4096, timeoutMs: 30_000 });
    expect(outcome.status).toBe('succeeded');
    const text = logs.text();
    expect(text).toContain('line 0\n');
    expect(text).toContain('line 199999\n');
    expect(Buffer.byteLength(text)).toBeLessThan(4096 + 200);
  });

  it('while(true){} ends timeout, and the host serves again', async () => {
    const { outcome } = await runIn(driver, jsArtifact('export default () => { while (true) {} }'), null, {
      timeoutMs: 500,
    });
    expect(outcome.status).toBe('timeout');
    await stillServes();
  });

  it('a cancel stops an infinite loop with status killed', async () => {
    const cancel = new AbortController();
    const fn = jsArtifact('export default () => { while (true) {} }');
    const ran = runIn(driver, fn, null, { timeoutMs: 60_000 }, cancel.signal);
    setTimeout(() => cancel.abort(new Error('cancelled by the test')), 200);
    const { outcome } = await ran;
    expect(outcome.status).toBe('killed');
    await stillServes();
  });

  it('array growth ends memory_exceeded', async () => {
    const fn = jsArtifact('export default () => { const a = []; while (true) a.push({ x: Math.random() }); }');
    const { outcome } = await runIn(driver, fn, null, { memoryMb: 32, timeoutMs: 60_000 });
    expect(outcome.status, JSON.stringify(outcome)).toBe('memory_exceeded');
    await stillServes();
  });
});
