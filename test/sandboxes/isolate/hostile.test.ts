/**
 * Hostile JavaScript in the isolate tier: every attack ends with the right status within its
 * deadline plus a loose margin, the host pool keeps its size (a killed host is replaced and its
 * process is gone), and a normal invocation succeeds afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsolateDriver } from '../../../sandboxes/isolate/driver.ts';
import { StrataError } from '../../../src/core/errors.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import { isAlive, jsArtifact, newDriver, poolSettled, runIn } from './helpers.ts';

/** Generous: hostile code may stall V8 in GC; tests never assert tight timing. */
const MARGIN_MS = 3000;
const POOL_SIZE = 1;

let driver: IsolateDriver;
const seenPids = new Set<number>();
const normal = jsArtifact('export default (input) => ({ ok: true, doubled: input.n * 2 })', { trust: 'standard' });

beforeAll(async () => {
  driver = newDriver(POOL_SIZE);
  await driver.start();
  for (const pid of driver.pool.pids()) seenPids.add(pid);
});

afterAll(async () => {
  await driver.dispose();
  for (const pid of seenPids) expect(isAlive(pid), `host ${pid} outlived dispose()`).toBe(false);
});

/** Run hostile code, then check the pool and that normal code still runs. */
async function attack(
  source: string,
  limits: Partial<ResolvedLimits> = {},
  trust: 'trusted' | 'standard' = 'standard',
  cancel?: AbortSignal,
) {
  const before = driver.pool.pids();
  const timeoutMs = limits.timeoutMs ?? 2000;
  const ran = await runIn(driver, jsArtifact(source, { trust }), null, { timeoutMs, ...limits }, cancel);
  expect(ran.elapsedMs).toBeLessThan(timeoutMs + MARGIN_MS);
  // The pool keeps its size; a host that was replaced is really gone.
  expect(await poolSettled(driver, POOL_SIZE)).toBe(true);
  const after = driver.pool.pids();
  for (const pid of after) seenPids.add(pid);
  for (const pid of before)
    if (!after.includes(pid)) expect(isAlive(pid), `killed host ${pid} still alive`).toBe(false);
  // Not a timing check: a busy machine may take seconds to replace a host.
  const ok = await runIn(driver, normal, { n: 21 }, { timeoutMs: 30_000 });
  expect(ok.outcome.status).toBe('succeeded');
  expect(ok.outcome.result).toEqual({ ok: true, doubled: 42 });
  return ran;
}

describe('isolate tier: runaway code', () => {
  it('while(true){} times out', async () => {
    const { outcome } = await attack('export default () => { while (true) {} }', { timeoutMs: 1000 });
    expect(outcome.status).toBe('timeout');
    expect(outcome.error?.code).toBe('timeout');
  });

  it('an infinite loop after an await times out (the watchdog covers promises)', async () => {
    const { outcome } = await attack('export default async () => { await null; while (true) {} }', {
      timeoutMs: 1000,
    });
    expect(outcome.status).toBe('timeout');
  });

  it.each([
    ['sync', 'if (input.loop) while (true) {}'],
    ['async', 'await null; if (input.loop) while (true) {}'],
  ])('a warm (trusted) %s infinite loop times out and its isolate is not reused', async (_, body) => {
    const warm = jsArtifact(`let calls = 0;\nexport default async (input) => { calls++; ${body} return calls; }`);
    const first = await runIn(driver, warm, { loop: true }, { timeoutMs: 1000 });
    expect(first.outcome.status).toBe('timeout');
    expect(first.elapsedMs).toBeLessThan(1000 + MARGIN_MS);
    // A new isolate: module state starts again.
    const second = await runIn(driver, warm, { loop: false });
    expect(second.outcome).toMatchObject({ status: 'succeeded', result: 1 });
    const third = await runIn(driver, warm, { loop: false });
    expect(third.outcome).toMatchObject({ status: 'succeeded', result: 2 });
    expect(await poolSettled(driver, POOL_SIZE)).toBe(true);
  });

  it('a promise that never settles times out', async () => {
    const { outcome } = await attack('export default () => new Promise(() => {})', { timeoutMs: 1000 });
    expect(outcome.status).toBe('timeout');
  });

  it('a busy loop at module top level times out', async () => {
    const { outcome } = await attack('while (true) {}\nexport default () => 1', { timeoutMs: 1000 });
    expect(outcome.status).toBe('timeout');
  });

  it('a loop in a detached microtask after returning times out', async () => {
    const { outcome } = await attack(
      'export default () => { (async () => { await null; while (true) {} })(); return 1; }',
      { timeoutMs: 1000 },
    );
    expect(outcome.status).toBe('timeout');
  });

  it('a result whose toJSON never returns times out', async () => {
    const { outcome } = await attack('export default async () => ({ toJSON() { while (true) {} } })', {
      timeoutMs: 1000,
    });
    expect(outcome.status).toBe('timeout');
  });

  it('a cancel stops an infinite loop with status killed', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new StrataError('cancelled', 'the invocation was cancelled')), 300);
    const { outcome, elapsedMs } = await attack(
      'export default () => { while (true) {} }',
      { timeoutMs: 10_000 },
      'standard',
      controller.signal,
    );
    expect(outcome.status).toBe('killed');
    expect(outcome.error?.code).toBe('cancelled');
    expect(elapsedMs).toBeLessThan(300 + MARGIN_MS);
  });

  it('unbounded recursion fails with a RangeError', async () => {
    const { outcome } = await attack('const f = (n) => f(n + 1) + 1;\nexport default () => f(0)');
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('function_error');
    expect(outcome.error?.message).toMatch(/call stack/i);
  });
});

describe('isolate tier: memory bombs', () => {
  // A generous deadline: the verdict must come from the memory watch (which ends a bomb as soon
  // as it crosses its limit), not from how far a busy machine gets before a short deadline.
  const limits = { memoryMb: 32, timeoutMs: 20_000 };

  it('array growth ends memory_exceeded', async () => {
    const { outcome } = await attack(
      'export default () => { const a = []; while (true) a.push(new Array(1000).fill(Math.random())); }',
      limits,
    );
    expect(outcome.status).toBe('memory_exceeded');
    expect(outcome.error?.code).toBe('memory_exceeded');
    expect(outcome.death).toMatchObject({ cause: 'memory', limit: 32 });
  });

  it('string doubling ends memory_exceeded (or failed at the string length cap)', async () => {
    const { outcome } = await attack(
      'export default () => { let s = "x"; const keep = []; while (true) { s = s + s; keep.push(s.charCodeAt(s.length >> 1)); } }',
      limits,
    );
    expect(['memory_exceeded', 'failed']).toContain(outcome.status);
    if (outcome.status === 'failed') expect(outcome.error?.message).toMatch(/string length/i);
  });

  it('an ArrayBuffer allocation loop ends memory_exceeded', async () => {
    const { outcome } = await attack(
      'export default () => { const keep = []; while (true) keep.push(new ArrayBuffer(1 << 20)); }',
      limits,
    );
    expect(outcome.status).toBe('memory_exceeded');
  });

  it('a deep object graph ends memory_exceeded or timeout', async () => {
    const { outcome } = await attack(
      'export default () => { let o = {}; while (true) o = { next: o, pad: new Array(100).fill(1) }; }',
      limits,
    );
    expect(['memory_exceeded', 'timeout']).toContain(outcome.status);
  });

  it('a memory bomb in a warm (trusted) isolate ends memory_exceeded', async () => {
    const { outcome } = await attack(
      'export default () => { const a = []; while (true) a.push(new Array(1000).fill(Math.random())); }',
      limits,
      'trusted',
    );
    expect(outcome.status).toBe('memory_exceeded');
  });
});

describe('isolate tier: oversized output', () => {
  it('a 100 MB result within the memory limit fails with result_too_large', async () => {
    const { outcome } = await attack('export default () => "x".repeat(100 * 1024 * 1024)', {
      memoryMb: 512,
      resultBytes: 8 * 1024 ** 2,
      // Copying 100 MB takes seconds on a busy machine; the deadline is not what is tested here.
      timeoutMs: 30_000,
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('result_too_large');
  });

  it('a result that does not fit the memory limit ends memory_exceeded', async () => {
    // 128 MB of doubles in a 32 MiB isolate.
    const { outcome } = await attack('export default () => new Array(16 * 1024 * 1024).fill(0.5)', {
      memoryMb: 32,
      timeoutMs: 20_000,
    });
    expect(outcome.status).toBe('memory_exceeded');
    expect(outcome.error?.code).toBe('memory_exceeded');
  });

  it('a 100 MB string (a rope V8 keeps in a few KB) beyond the memory limit fails at once with result_too_large', async () => {
    const { outcome } = await attack('export default () => "x".repeat(100 * 1024 * 1024)', {
      memoryMb: 32,
      timeoutMs: 20_000,
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('result_too_large');
    expect(outcome.death).toMatchObject({ cause: 'result', limit: 65536 });
  });

  it('a log flood of 200,000 lines is kept to the budget: head, tail and a dropped-bytes marker', async () => {
    const logBytes = 8192;
    const { outcome, logs } = await attack(
      'export default () => { for (let i = 0; i < 200000; i++) console.log("line " + i); return "done"; }',
      // 200,000 lines take seconds on a busy machine; the deadline is not what is tested.
      { logBytes, timeoutMs: 30_000 },
    );
    expect(outcome.status, JSON.stringify({ ...outcome, result: undefined })).toBe('succeeded');
    expect(outcome.result).toBe('done');
    const text = logs.text();
    expect(text.startsWith('line 0\nline 1\n')).toBe(true);
    expect(text.trimEnd().endsWith('line 199999')).toBe(true);
    const marker = /…\[(\d+) bytes of log output dropped\]…/.exec(text);
    expect(marker).not.toBeNull();
    let total = 0;
    for (let i = 0; i < 200000; i++) total += `line ${i}\n`.length;
    // Exactly the budget is kept (half head, half tail); the marker counts the rest.
    expect(Number(marker?.[1])).toBe(total - logBytes);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(logBytes + 100);
    expect(logs.totalBytes).toBe(total);
  });
});

describe('isolate tier: escapes', () => {
  const probe = `
    const look = (g) => g === undefined || g === null ? 'none' :
      [typeof g.process, typeof g.require, typeof g.Buffer, typeof g.ivm, typeof g._ivm, typeof g.$0].join(',');
  `;

  it('this.constructor.constructor("return process")() reaches no process', async () => {
    const { outcome } = await attack(
      'export default function () { return this.constructor.constructor("return process")(); }',
    );
    // `this` is undefined in a module function, and there is no `process` inside the isolate.
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('function_error');
    expect(outcome.error?.message).toMatch(/TypeError|ReferenceError/);
  });

  it('globalThis.constructor.constructor("return process")() throws ReferenceError', async () => {
    const { outcome } = await attack('export default () => globalThis.constructor.constructor("return process")()');
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toMatch(/ReferenceError: process is not defined/);
  });

  it('prototype-chain walks find no host object', async () => {
    const { outcome } = await attack(`${probe}
      export default async (input, ctx) => {
        const found = {};
        found.fnThis = look(Function('return this')());
        found.global = look(globalThis);
        found.asyncFn = look((async () => {}).constructor('return this')());
        found.genFn = look(Object.getPrototypeOf(function* () {}).constructor('return this')().next().value);
        found.ctxLog = look(ctx.log.constructor('return this')());
        found.consoleLog = look(console.log.constructor.constructor('return this')());
        found.inputProto = look(({}).constructor.constructor('return this')());
        let caught;
        try { null.x; } catch (e) { caught = e; }
        found.errorCtor = look(caught.constructor.constructor('return this')());
        found.names = Object.getOwnPropertyNames(globalThis)
          .filter((n) => /^(process|require|Buffer|ivm|_ivm|\\$0|module|exports|global)$/.test(n)).join(',');
        found.sameFunction = Function === ctx.log.constructor && Function === console.log.constructor;
        found.types = [typeof require, typeof process, typeof Buffer, typeof module].join(',');
        return found;
      }`);
    expect(outcome.status).toBe('succeeded');
    const none = 'undefined,undefined,undefined,undefined,undefined,undefined';
    expect(outcome.result).toEqual({
      fnThis: none,
      global: none,
      asyncFn: none,
      genFn: none,
      ctxLog: none,
      consoleLog: none,
      inputProto: none,
      errorCtor: none,
      names: '',
      sameFunction: true,
      types: 'undefined,undefined,undefined,undefined',
    });
  });

  it('a dynamic import() of a node module fails', async () => {
    const { outcome } = await attack(
      'export default async () => { const fs = await import("node:fs"); return typeof fs.readFileSync; }',
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('function_error');
    expect(outcome.result).toBeUndefined();
  });

  it('a static import of a node module is refused at deploy with invalid_code', async () => {
    const artifact = jsArtifact(
      'import fs from "node:fs";\nexport default () => fs.readFileSync("/etc/passwd", "utf8")',
    );
    const error = await driver.prepare(artifact).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(StrataError);
    expect((error as StrataError).code).toBe('invalid_code');
    expect((error as StrataError).message).toMatch(/node:fs/);
    expect(await poolSettled(driver, POOL_SIZE)).toBe(true);
  });

  it('a syntax error is refused at deploy with invalid_code', async () => {
    const error = await driver.prepare(jsArtifact('export default () => {')).catch((err: unknown) => err);
    expect((error as StrataError).code).toBe('invalid_code');
  });
});
