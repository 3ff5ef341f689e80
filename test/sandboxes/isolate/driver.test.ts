/**
 * The isolate driver's contract: warm vs fresh isolates, captured logs, usage, limits, and the
 * supervision of its host processes (crash -> killed/sandbox_crashed and replaced; dispose kills).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsolateDriver } from '../../../sandboxes/isolate/driver.ts';
import { cmdline, isAlive, jsArtifact, newDriver, poolSettled, runIn, until } from './helpers.ts';

let driver: IsolateDriver;
const seenPids = new Set<number>();

beforeAll(async () => {
  driver = newDriver(1);
  await driver.start();
  for (const pid of driver.pool.pids()) seenPids.add(pid);
});

afterAll(async () => {
  await driver.dispose();
});

const COUNTER = 'let calls = 0;\nexport default () => ++calls;';

describe('isolate driver', () => {
  it('reports the tier and its health', () => {
    expect(driver.tier).toBe('isolate');
    expect(driver.capabilities.runtimes).toEqual(['js']);
    const health = driver.health();
    expect(health.available).toBe(true);
    expect(health.details).toMatchObject({ hosts: 1, live: 1 });
  });

  it('keeps a warm isolate for trusted code: module state survives across calls', async () => {
    const fn = jsArtifact(COUNTER, { trust: 'trusted' });
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await runIn(driver, fn)).outcome.result);
    expect(results).toEqual([1, 2, 3]);
  });

  it.each(['standard', 'untrusted'] as const)('gives %s code a fresh isolate per call', async (trust) => {
    const fn = jsArtifact(COUNTER, { trust });
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await runIn(driver, fn)).outcome.result);
    expect(results).toEqual([1, 1, 1]);
  });

  it('passes input and ctx, and captures console.* and ctx.log in order', async () => {
    const fn = jsArtifact(
      `export default async (input, ctx) => {
        console.log('log', 1, { a: 1 });
        console.info('info');
        console.warn('warn');
        console.error('error', new Error('boom').message);
        ctx.log('ctx', ctx.function.name, ctx.function.version, typeof ctx.executionId, ctx.deadline > Date.now());
        return { echo: input };
      }`,
      { name: 'logger-fn' },
    );
    const { outcome, logs } = await runIn(driver, fn, { x: [1, 'two'] });
    expect(outcome).toMatchObject({ status: 'succeeded', result: { echo: { x: [1, 'two'] } } });
    expect(logs.text()).toBe('log 1 {"a":1}\ninfo\nWARN warn\nERROR error boom\nctx logger-fn 1 string true\n');
  });

  it('does not carry logs from one warm call into the next', async () => {
    const fn = jsArtifact('let n = 0;\nexport default () => { console.log("call " + ++n); return n; }');
    expect((await runIn(driver, fn)).logs.text()).toBe('call 1\n');
    expect((await runIn(driver, fn)).logs.text()).toBe('call 2\n');
  });

  it('reports usage with wallMs, cpuMs and memoryPeakBytes, all measured', async () => {
    const fn = jsArtifact(
      'export default () => { let x = 0; for (let i = 0; i < 2e6; i++) x += i; return new Array(1e5).fill(x).length; }',
    );
    const { outcome } = await runIn(driver, fn);
    expect(outcome.status).toBe('succeeded');
    const { usage } = outcome;
    expect(usage.measured).toEqual(expect.arrayContaining(['wallMs', 'cpuMs', 'memoryPeakBytes']));
    expect(usage.wallMs).toBeGreaterThan(0);
    expect(usage.cpuMs).toBeGreaterThan(0);
    expect(usage.memoryPeakBytes).toBeGreaterThan(100_000);
  });

  it('reports memoryPeakBytes as a high-water mark sampled during the call, not the heap at the end', async () => {
    // About 40 MB live for a while, then dropped before returning.
    const fn = jsArtifact(
      `export default async () => {
        let a = []; for (let i = 0; i < 5; i++) a.push(new Array(1e6).fill(i + 0.5));
        await new Promise((r) => setTimeout(r, 300));
        a = null; return 1;
      }`,
      { trust: 'standard' },
    );
    const { outcome } = await runIn(driver, fn, null, { memoryMb: 128, timeoutMs: 20_000 });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.usage.measured).toContain('memoryPeakBytes');
    expect(outcome.usage.memoryPeakBytes).toBeGreaterThan(30 * 1024 ** 2);
  });

  it('leaves memoryPeakBytes out of measured when another call shared the host', async () => {
    const slow = jsArtifact('export default () => new Promise((r) => setTimeout(() => r(1), 500))', {
      trust: 'standard',
    });
    const [a, b] = await Promise.all([
      runIn(driver, slow, null, { timeoutMs: 20_000 }),
      runIn(driver, slow, null, { timeoutMs: 20_000 }),
    ]);
    for (const { outcome } of [a, b]) {
      expect(outcome.status).toBe('succeeded');
      expect(outcome.usage.measured).not.toContain('memoryPeakBytes');
      expect(outcome.usage.memoryPeakBytes).toBeUndefined();
    }
  });

  it('says how each call started: cold then warm for trusted code, prewarmed or fresh otherwise', async () => {
    const warm = jsArtifact(COUNTER, { trust: 'trusted' });
    const first = await runIn(driver, warm);
    const second = await runIn(driver, warm);
    expect(first.outcome.start?.kind).toBe('cold');
    expect(second.outcome.start?.kind).toBe('warm');
    for (const { outcome } of [first, second]) expect(outcome.start?.initMs).toBeGreaterThanOrEqual(0);
    const fresh = jsArtifact(COUNTER, { trust: 'standard' });
    await runIn(driver, fresh);
    // A spare isolate is made after each fresh call, off the request path: the next call takes
    // it when it is ready (prewarmed), or makes one (fresh).
    const next = await runIn(driver, fresh);
    expect(['prewarmed', 'fresh']).toContain(next.outcome.start?.kind);
  });

  it('caps the result size', async () => {
    const fn = jsArtifact('export default (n) => "x".repeat(n)');
    const small = await runIn(driver, fn, 100, { resultBytes: 1024 });
    expect(small.outcome).toMatchObject({ status: 'succeeded', result: 'x'.repeat(100) });
    const big = await runIn(driver, fn, 2000, { resultBytes: 1024 });
    expect(big.outcome.status).toBe('failed');
    expect(big.outcome.error?.code).toBe('result_too_large');
    // The cap is in bytes: 600 three-byte characters are 1,802 bytes of JSON.
    const wide = await runIn(driver, jsArtifact('export default (n) => "€".repeat(n)'), 600, { resultBytes: 1024 });
    expect(wide.outcome.status).toBe('failed');
    expect(wide.outcome.error?.code).toBe('result_too_large');
  });

  it('forget() drops the warm isolates of a digest', async () => {
    const fn = jsArtifact(COUNTER, { trust: 'trusted' });
    expect((await runIn(driver, fn)).outcome.result).toBe(1);
    expect((await runIn(driver, fn)).outcome.result).toBe(2);
    driver.forget(fn.digest);
    expect((await runIn(driver, fn)).outcome.result).toBe(1);
  });

  it('fails a thrown error and an unserializable result with their codes', async () => {
    const threw = await runIn(driver, jsArtifact('export default () => { throw new TypeError("bad input"); }'));
    expect(threw.outcome).toMatchObject({
      status: 'failed',
      error: { code: 'function_error', message: 'TypeError: bad input' },
    });
    const bigint = await runIn(driver, jsArtifact('export default () => ({ n: 1n })'));
    expect(bigint.outcome.status).toBe('failed');
    expect(bigint.outcome.error?.code).toBe('result_not_serializable');
    const noDefault = await runIn(driver, jsArtifact('export const x = 1;'));
    expect(noDefault.outcome.status).toBe('failed');
    expect(noDefault.outcome.error?.code).toBe('invalid_code');
  });

  it('takes the memory limit from limits.memoryMb', async () => {
    // About 48 MiB of live doubles: over a 16 MiB limit, within 128 MiB.
    const fn = jsArtifact(
      'export default () => { const a = []; for (let i = 0; i < 6; i++) a.push(new Array(1e6).fill(i + 0.5)); return a.length; }',
      { trust: 'standard' },
    );
    // Generous deadlines: the verdict is the memory limit's, however busy the machine is.
    const tight = await runIn(driver, fn, null, { memoryMb: 16, timeoutMs: 20_000 });
    expect(tight.outcome.status).toBe('memory_exceeded');
    expect(tight.outcome.error?.message).toMatch(/16 MiB/);
    expect(tight.outcome.death).toMatchObject({ cause: 'memory', limit: 16 });
    const roomy = await runIn(driver, fn, null, { memoryMb: 128, timeoutMs: 20_000 });
    expect(roomy.outcome).toMatchObject({ status: 'succeeded', result: 6 });
  });

  it('runs its hosts as processes whose command line says "isolate host"', () => {
    const pids = driver.pool.pids();
    expect(pids).toHaveLength(1);
    for (const pid of pids) {
      expect(pid).not.toBe(process.pid);
      expect(cmdline(pid)).toContain('isolate host');
    }
  });

  it('fails the in-flight invocation of a SIGKILLed host as killed/sandbox_crashed and replaces the host', async () => {
    const [victim] = driver.pool.pids() as [number];
    const loop = jsArtifact('export default () => { while (true) {} }', { trust: 'standard' });
    /** The host's CPU time in clock ticks (utime + stime, /proc/<pid>/stat). */
    const hostCpu = () => {
      const fields = readFileSync(`/proc/${victim}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return Number(fields[11]) + Number(fields[12]);
    };
    const before = hostCpu();
    const running = runIn(driver, loop, null, { timeoutMs: 60_000 });
    // Killed once the loop spins in the host (its CPU climbs far past a prepare's), not after a
    // fixed delay: a busy machine may not have got there yet.
    while (hostCpu() - before < 30) await new Promise((r) => setTimeout(r, 10));
    process.kill(victim, 'SIGKILL');
    const { outcome, elapsedMs } = await running;
    expect(outcome.status).toBe('killed');
    expect(outcome.error?.code).toBe('sandbox_crashed');
    // Ended by the crash, not the 60 s deadline.
    expect(elapsedMs).toBeLessThan(50_000);
    expect(await poolSettled(driver, 1, [victim])).toBe(true);
    const [replacement] = driver.pool.pids() as [number];
    seenPids.add(replacement);
    expect(replacement).not.toBe(victim);
    expect(isAlive(victim)).toBe(false);
    expect(cmdline(replacement)).toContain('isolate host');
    expect(driver.health()).toMatchObject({ available: true, details: { restarts: 1 } });
    // The main process kept serving, and the new host runs code (warm cache rebuilt from source).
    const after = await runIn(driver, jsArtifact(COUNTER, { trust: 'trusted' }), null, { timeoutMs: 30_000 });
    expect(after.outcome).toMatchObject({ status: 'succeeded', result: 1 });
  });

  it('leaves no host process alive after dispose()', async () => {
    const pids = driver.pool.pids();
    for (const pid of pids) seenPids.add(pid);
    await driver.dispose();
    expect(driver.pool.pids()).toEqual([]);
    expect(await until(() => [...seenPids].every((pid) => !isAlive(pid)))).toBe(true);
    expect(driver.health().available).toBe(false);
    await driver.dispose(); // idempotent
  });
});
