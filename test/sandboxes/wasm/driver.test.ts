import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../../../src/core/errors.ts';
import { artifact, type DriverFixture, invocation, makeDriver, runOptions } from './helpers.ts';
import { command, wat } from './wat.ts';

const ECHO = command(`
  (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1000))
  (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
  (i32.store (i32.const 4) (i32.load (i32.const 8)))
  (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))`);
const SPIN = '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))';

describe('wasm driver (host process + guest threads)', () => {
  let fx: DriverFixture;
  beforeAll(async () => {
    fx = makeDriver();
    await fx.driver.start();
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  async function invoke(code: Uint8Array, manifest = {}, input: unknown = [1, 2], limits = {}) {
    const prepared = await fx.driver.prepare(artifact(code, manifest));
    const run = runOptions(limits);
    try {
      const outcome = await fx.driver.run(prepared, invocation(input), run.options);
      return { outcome, logs: run.logs.text() };
    } finally {
      run.done();
    }
  }

  it('runs a command module and reports usage', async () => {
    const { outcome } = await invoke(await wat(ECHO), {}, { hello: 'world' });
    expect(outcome).toMatchObject({ status: 'succeeded', result: { hello: 'world' } });
    expect(outcome.usage.measured).toEqual(expect.arrayContaining(['wallMs', 'cpuMs', 'memoryPeakBytes']));
    expect(outcome.usage.memoryPeakBytes).toBe(65536);
  });

  it('declares no network and no processes of its own, and refuses a manifest asking for network', async () => {
    expect(fx.driver.capabilities).toMatchObject({ network: 'none', ownProcesses: false });
    await expect(
      fx.driver.prepare(artifact(await wat(ECHO), { permissions: { network: ['api.example.com'] } })),
    ).rejects.toMatchObject({ code: 'permission_denied' });
  });

  it('says how each run started: cold when the host compiled the module, prewarmed after', async () => {
    // A module no other test sent to this host.
    const a = artifact(await wat('(module (func (export "seven") (result i32) i32.const 7))'), { entry: 'seven' });
    const first = await invokeArtifact(a, []);
    expect(first.result).toBe(7);
    expect(first.start).toMatchObject({ kind: 'cold', initMs: expect.any(Number) });
    const second = await invokeArtifact(a, []);
    expect(second.start?.kind).toBe('prewarmed');
  });

  async function invokeArtifact(a: ReturnType<typeof artifact>, input: unknown) {
    const prepared = await fx.driver.prepare(a);
    const run = runOptions();
    try {
      return await fx.driver.run(prepared, invocation(input), run.options);
    } finally {
      run.done();
    }
  }

  it('an infinite loop is stopped at the deadline (timeout) and the next request is served', async () => {
    const { outcome } = await invoke(await wat(SPIN), {}, null, { timeoutMs: 300 });
    expect(outcome.status).toBe('timeout');
    expect(outcome.error?.code).toBe('timeout');
    expect(outcome.death).toMatchObject({ cause: 'time', limit: 300 });
    const next = await invoke(await wat(ECHO), {}, [7]);
    expect(next.outcome).toMatchObject({ status: 'succeeded', result: [7] });
  });

  it('runs more invocations than threads at once (queued slots) with separate instances', async () => {
    const bytes = await wat(ECHO);
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => invoke(bytes, {}, { i })));
    expect(outcomes.map((o) => o.outcome.result)).toEqual(Array.from({ length: 6 }, (_, i) => ({ i })));
  });

  it('cancellation terminates the guest thread', async () => {
    const prepared = await fx.driver.prepare(artifact(await wat(SPIN)));
    const outer = new AbortController();
    const run = runOptions({ timeoutMs: 10_000 }, outer.signal);
    setTimeout(() => outer.abort(new StrataError('cancelled', 'cancelled by the test')), 150);
    const outcome = await fx.driver.run(prepared, invocation(null), run.options);
    run.done();
    expect(outcome).toMatchObject({ status: 'killed', error: { code: 'cancelled' } });
  });

  it('fuel is reported and its exhaustion is killed/fuel_exhausted', async () => {
    const { outcome } = await invoke(await wat(SPIN), { limits: { fuel: 50_000 } }, null, { fuel: 50_000 });
    expect(outcome).toMatchObject({ status: 'killed', error: { code: 'fuel_exhausted' } });
    expect(outcome.usage.fuelConsumed).toBe(50_000);
    expect(outcome.death).toMatchObject({ cause: 'fuel', limit: 50_000, usage: { fuelConsumed: 50_000 } });
  });

  it('a plain module export gets the numeric input', async () => {
    const add = await wat(
      '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))',
    );
    const { outcome } = await invoke(add, { entry: 'add' }, [40, 2]);
    expect(outcome).toMatchObject({ status: 'succeeded', result: 42 });
  });

  it('refuses a bad upload at prepare with invalid_code', async () => {
    await expect(fx.driver.prepare(artifact(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8])))).rejects.toMatchObject({
      code: 'invalid_code',
    });
  });

  it('grants and then removes a per-invocation temp dir', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('strata-wasm-')).length;
    const { outcome } = await invoke(await wat(ECHO), { permissions: { tmp: true } }, [1]);
    expect(outcome.status).toBe('succeeded');
    const after = readdirSync(tmpdir()).filter((n) => n.startsWith('strata-wasm-')).length;
    expect(after).toBeLessThanOrEqual(before);
  });

  it('caches the transform on disk: a second driver on the same data dir reuses it', async () => {
    const a = artifact(await wat(ECHO));
    const first = await fx.driver.prepare(a);
    expect(existsSync(join(fx.dataDir, 'wasm-cache', first.key, 'module.wasm'))).toBe(true);
    const other = makeDriver(fx.dataDir);
    const second = await other.driver.prepare(a);
    expect(second.cacheHit).toBe(true);
    expect(second.key).toBe(first.key);
    await other.driver.dispose();
  });

  it('a host that dies fails only its in-flight invocation and is replaced', async () => {
    const prepared = await fx.driver.prepare(artifact(await wat(SPIN)));
    const run = runOptions({ timeoutMs: 10_000 });
    const pending = fx.driver.run(prepared, invocation(null), run.options);
    await new Promise((r) => setTimeout(r, 200));
    const health = fx.driver.health();
    expect(health.available).toBe(true);
    // Kill the host from outside (simulates a crash).
    const pids = fx.driver.hostPids();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const outcome = await pending;
    run.done();
    expect(outcome).toMatchObject({ status: 'killed', error: { code: 'sandbox_crashed' }, death: { cause: 'crash' } });
    for (let i = 0; i < 50 && !fx.driver.health().available; i++) await new Promise((r) => setTimeout(r, 100));
    const next = await invoke(await wat(ECHO), {}, [3]);
    expect(next.outcome).toMatchObject({ status: 'succeeded', result: [3] });
  });
});

describe('wasm driver with wasm.startHost = first-use', () => {
  it('starts no host until the first run needs one, reports the tier available meanwhile, then serves', async () => {
    const fx = makeDriver(undefined, 1, { startHost: 'first-use' });
    try {
      await fx.driver.start();
      expect(fx.driver.hostPids()).toEqual([]);
      expect(fx.driver.health()).toMatchObject({ available: true, details: { live: 0, startsOnFirstUse: true } });
      const prepared = await fx.driver.prepare(artifact(await wat(ECHO)));
      const run = runOptions({ timeoutMs: 20_000 });
      try {
        const outcome = await fx.driver.run(prepared, invocation({ hello: 'first' }), run.options);
        expect(outcome).toMatchObject({ status: 'succeeded', result: { hello: 'first' } });
      } finally {
        run.done();
      }
      expect(fx.driver.hostPids()).toHaveLength(1);
      const health = fx.driver.health();
      expect(health).toMatchObject({ available: true, details: { live: 1 } });
      expect(health.details).not.toHaveProperty('startsOnFirstUse');
    } finally {
      await fx.cleanup();
    }
  });
});
