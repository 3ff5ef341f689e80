/**
 * Deploy-time work runs off the serving thread, within a time and a memory budget. The one
 * time assertion in the wasm suites is here, and it is the feature: while a module that takes
 * binaryen seconds to meter is deployed and run, the main event loop is never blocked for
 * 100 ms or more. Budgets and test timeouts are otherwise set so no verdict depends on speed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { watchEventLoop } from '../../support/event-loop.ts';
import { bigModule } from './big-module.ts';
import { artifact, type DriverFixture, invocation, makeDriver, runOptions } from './helpers.ts';
import { wat } from './wat.ts';

/** Metering this takes binaryen about 2.5 s on this machine, over 1 s anywhere. */
const FUNCTIONS = 100_000;
const TEN_MINUTES = '10m';

let fx: DriverFixture | undefined;
afterEach(async () => {
  await fx?.cleanup();
  fx = undefined;
});

describe('compile work off the serving thread', () => {
  it('deploys and runs a large fuel-metered module without blocking the event loop for 100 ms', async () => {
    fx = makeDriver(undefined, 1, { compileTimeout: TEN_MINUTES });
    await fx.driver.start();
    const a = artifact(bigModule(FUNCTIONS), { entry: 'f0', limits: { fuel: 1_000_000 } });
    // By this thread's own CPU in each gap: a late tick on a busy machine is not a block.
    const watch = watchEventLoop();
    const prepared = await fx.driver.prepare(a);
    const run = runOptions({ timeoutMs: 60_000, fuel: 1_000_000 });
    const outcome = await fx.driver.run(prepared, invocation([]), run.options);
    run.done();
    const { maxBlockedMs } = watch.stop();
    expect(outcome).toMatchObject({ status: 'succeeded', result: 7 });
    expect(outcome.usage.fuelConsumed).toBeGreaterThan(0);
    expect(prepared.compile.steps.fuel).toBeGreaterThan(0);
    expect(maxBlockedMs).toBeLessThan(100);
  }, 0);

  it('refuses a compile that overruns its time budget, and the next deploy works', async () => {
    // 200 ms of the job's own work against seconds of metering (and about 1 ms for the small one).
    fx = makeDriver(undefined, 1, { compileTimeout: '200ms' });
    await fx.driver.start();
    await expect(
      fx.driver.prepare(artifact(bigModule(FUNCTIONS), { entry: 'f0', limits: { fuel: 1000 } })),
    ).rejects.toMatchObject({
      code: 'invalid_code',
      message: expect.stringMatching(/compile time budget of 200 ms \(wasm\.compileTimeout\)/),
      details: { budget: 'time' },
    });
    // Without fuel a small module is a few ms of work: it still passes, on a fresh thread.
    const small = await fx.driver.prepare(
      artifact(await wat('(module (func (export "one") (result i32) i32.const 1))'), { entry: 'one' }),
    );
    expect(small.meta.kind).toBe('module');
    expect(fx.driver.compiler.started).toBe(2);
  }, 0);

  it('refuses a compile that needs more than its memory budget', async () => {
    fx = makeDriver(undefined, 1, { compileTimeout: TEN_MINUTES, compileMemory: '64MiB' });
    await fx.driver.start();
    await expect(
      fx.driver.prepare(artifact(bigModule(FUNCTIONS), { entry: 'f0', limits: { fuel: 1000 } })),
    ).rejects.toMatchObject({
      code: 'invalid_code',
      message: expect.stringMatching(/compile memory budget.*64 MiB|64 MiB.*compile memory budget/),
      details: { budget: 'memory' },
    });
  }, 0);
});
