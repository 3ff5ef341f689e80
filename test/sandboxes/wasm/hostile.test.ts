/**
 * Hostile guests through the real driver (host process + guest threads): each ends with the
 * right status or an invalid_code refusal at prepare, and the tier serves the next request.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestInput } from '../../../src/core/manifest.ts';
import { artifact, type DriverFixture, invocation, makeDriver, runOptions } from './helpers.ts';
import { wat } from './wat.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const example = (path: string) =>
  new Uint8Array(readFileSync(new URL(`../../../udf-examples/${path}`, import.meta.url)));

describe('hostile guests', () => {
  let fx: DriverFixture;
  beforeAll(async () => {
    fx = makeDriver();
    await fx.driver.start();
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  async function invoke(code: Uint8Array, manifest: Partial<ManifestInput> = {}, input: unknown = null, limits = {}) {
    const prepared = await fx.driver.prepare(artifact(code, manifest));
    const run = runOptions({ timeoutMs: 3000, ...limits });
    try {
      const outcome = await fx.driver.run(prepared, invocation(input), run.options);
      return { outcome, logs: run.logs.text() };
    } finally {
      run.done();
    }
  }

  async function servesNext() {
    const { outcome } = await invoke(example('wasm/c-stats/stats.wasm'), {}, [1, 2, 3]);
    expect(outcome).toMatchObject({ status: 'succeeded', result: { count: 3, sum: 6 } });
  }

  it('the C example works', async () => {
    await servesNext();
  });

  it('infinite loop in C: timeout', async () => {
    const { outcome } = await invoke(fixture('loop.wasm'), {}, null, { timeoutMs: 300 });
    expect(outcome.status).toBe('timeout');
    await servesNext();
  });

  it('infinite loop in WAT under fuel: fuel_exhausted, deterministic count', async () => {
    const spin = await wat('(module (func (export "_start") (loop $l (br $l))))');
    const { outcome } = await invoke(spin, { limits: { fuel: 1_000_000 } }, null, { fuel: 1_000_000 });
    expect(outcome).toMatchObject({ status: 'killed', error: { code: 'fuel_exhausted' } });
    expect(outcome.usage.fuelConsumed).toBe(1_000_000);
    await servesNext();
  });

  it('the C loop under fuel is also stopped by fuel', async () => {
    const { outcome } = await invoke(fixture('loop.wasm'), { limits: { fuel: 2_000_000 } }, null, { fuel: 2_000_000 });
    expect(outcome).toMatchObject({ status: 'killed', error: { code: 'fuel_exhausted' } });
  });

  it('malloc bomb in C and memory.grow bomb without a maximum: memory_exceeded at the cap', async () => {
    const c = await invoke(fixture('bomb.wasm'), { limits: { memoryMb: 16 } });
    expect(c.outcome.status).toBe('memory_exceeded');
    expect(c.outcome.usage.memoryPeakBytes).toBeLessThanOrEqual(16 * 1024 ** 2);
    const grow = await wat(
      '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable))',
    );
    const w = await invoke(grow, { limits: { memoryMb: 8 } });
    expect(w.outcome.status).toBe('memory_exceeded');
    expect(w.outcome.usage.memoryPeakBytes).toBeLessThanOrEqual(8 * 1024 ** 2);
    await servesNext();
  });

  it('huge initial memory, unknown imports, random bytes and a truncated module are refused at prepare', async () => {
    const refused = async (code: Uint8Array, pattern: RegExp) => {
      const error = await fx.driver.prepare(artifact(code)).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(error?.code).toBe('invalid_code');
      expect(error?.message).toMatch(pattern);
    };
    await refused(await wat('(module (memory 30000) (func (export "_start")))'), /initial size/);
    await refused(await wat('(module (import "env" "spawn" (func)) (func (export "_start")))'), /env\.spawn/);
    await refused(new Uint8Array(Buffer.from('this is not wasm at all, just text')), /magic/);
    const stats = example('wasm/c-stats/stats.wasm');
    await refused(stats.subarray(0, stats.length >> 1), /truncated|past the end|malformed|invalid/);
    await servesNext();
  });

  it('stdout flood: killed at the result cap, logs bounded', async () => {
    const { outcome, logs } = await invoke(fixture('flood.wasm'), {}, null, { resultBytes: 64 * 1024, logBytes: 1024 });
    expect(outcome).toMatchObject({ status: 'killed', error: { code: 'result_too_large' } });
    expect(Buffer.byteLength(logs)).toBeLessThan(1400);
    await servesNext();
  });

  it('guest exit ends only the guest', async () => {
    const { outcome } = await invoke(fixture('exit.wasm'));
    expect(outcome).toMatchObject({ status: 'failed', exit: { exitCode: 7 }, error: { code: 'function_error' } });
    expect(fx.driver.health().available).toBe(true);
    await servesNext();
  });

  it('/etc/passwd and ../ opens fail without a grant, and stay inside it with one', async () => {
    const none = await invoke(fixture('files.wasm'));
    expect(none.outcome.status).toBe('succeeded');
    const result = none.outcome.result as Record<string, string>;
    for (const key of ['etc_passwd', 'dotdot', 'tmp_dotdot', 'tmp_dotdot2', 'tmp_write'])
      expect(result[key]).not.toMatch(/^opened/);
    const granted = await invoke(fixture('files.wasm'), { permissions: { tmp: true } });
    const r2 = granted.outcome.result as Record<string, string>;
    for (const key of ['etc_passwd', 'dotdot', 'tmp_dotdot2']) expect(r2[key]).not.toMatch(/^opened/);
    expect(r2.tmp_write).toMatch(/^opened/);
    expect(r2.tmp_read).toMatch(/^opened/);
    await servesNext();
  });

  it('a component reading its environment sees an empty one', async () => {
    process.env.STRATA_SECRET_FOR_TEST = 'do-not-leak';
    const { outcome } = await invoke(example('component/c-shout/shout.wasm'), {}, { a: 'b' });
    expect(outcome).toMatchObject({ status: 'succeeded', result: { shout: '{"A":"B"}', env: 0 } });
    delete process.env.STRATA_SECRET_FOR_TEST;
  });
});
