/**
 * What JS code sees in the docker tier and what the outcome says about it: the contracted `ctx`
 * (issue 9), timers cleared and output dropped once an invocation ends (issue 16 item 6), and
 * honest records — how each run started and what ended it (issue 16 "Honest records").
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DockerDriver } from '../../../sandboxes/docker/driver.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import type { ManifestInput } from '../../../src/core/manifest.ts';
import { describeIf } from '../../support/requirements.ts';
import { SUITE_START_MS } from './daemon-lock.ts';
import {
  artifact,
  dockerRequirement,
  invocation,
  runOptions,
  startSuiteDriver,
  stopSuiteDriver,
  uniqueWorkerId,
} from './helpers.ts';

describeIf(dockerRequirement(), 'JS context, timers and records in the docker tier', () => {
  const workerId = uniqueWorkerId('jsctx');
  let driver: DockerDriver;

  beforeAll(async () => {
    driver = await startSuiteDriver({ poolMin: 0 }, workerId);
  }, SUITE_START_MS);
  afterAll(() => stopSuiteDriver(driver, workerId));

  async function run(
    manifest: Partial<ManifestInput> & { name: string },
    input: unknown = {},
    limits: Partial<ResolvedLimits> = {},
  ) {
    const p = await driver.prepare(artifact({ runtime: 'js', trust: 'untrusted', ...manifest } as ManifestInput));
    const r = runOptions({ timeoutMs: 20_000, ...limits });
    const inv = invocation(input);
    try {
      const outcome = await driver.run(p, inv, r.options);
      return { outcome, logs: r.logs.text(), inv, deadline: r.options.deadline };
    } finally {
      r.dispose();
    }
  }

  it('gives JS exactly the contracted ctx; permissions.env is in process.env', async () => {
    const source = `export default (input, ctx) => ({
      keys: Object.keys(ctx).sort(),
      frozen: Object.isFrozen(ctx),
      fnFrozen: Object.isFrozen(ctx.function),
      fn: ctx.function,
      executionId: ctx.executionId,
      deadline: ctx.deadline,
      log: typeof ctx.log,
      greeting: process.env.GREETING ?? null,
      timers: [typeof setTimeout, typeof clearTimeout, typeof setInterval, typeof clearInterval],
    });`;
    const { outcome, inv, deadline } = await run({ name: 'ctx', source, permissions: { env: { GREETING: 'hi' } } });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result).toEqual({
      keys: ['deadline', 'executionId', 'function', 'log'],
      frozen: true,
      fnFrozen: true,
      fn: { name: 'ctx', version: 1 },
      executionId: inv.id,
      deadline,
      log: 'function',
      greeting: 'hi',
      timers: ['function', 'function', 'function', 'function'],
    });
  });

  it('formats ctx.log like console.log, in order with console output', async () => {
    const source = `export default (input, ctx) => {
      console.log('a', 1);
      ctx.log('b', { x: 2 });
      process.stdout.write('c\\n');
      console.error('d');
      return null;
    };`;
    const { outcome, logs } = await run({ name: 'ctx-log', source });
    expect(outcome.status).toBe('succeeded');
    expect(logs).toBe('a 1\nb {"x":2}\nc\nERROR d\n');
  });

  it('clears the timers an invocation leaves and drops (and counts) output made after it ended', async () => {
    const source = `import timers from 'node:timers';
export default async (input, ctx) => {
  globalThis.ticks ??= 0;
  globalThis.fired ??= [];
  if (input.phase === 'leave') {
    setInterval(() => { globalThis.ticks++; console.log('stale interval'); }, 20);
    setTimeout(() => { globalThis.fired.push('global'); console.log('stale timeout'); }, 50);
    timers.setTimeout(() => { globalThis.fired.push('node:timers'); }, 50);
    setImmediate(() => { globalThis.fired.push('immediate'); });
    (async () => { for (let i = 0; i < 100; i++) await null; ctx.log('stale ctx.log'); console.log('stale console'); })();
    return 'left';
  }
  const before = globalThis.ticks;
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { before, after: globalThis.ticks, fired: globalThis.fired };
};`;
    const lateBefore = (driver.stats() as { lateLogBytes: number }).lateLogBytes;
    const first = await run({ name: 'leftovers', source }, { phase: 'leave' });
    expect(first.outcome).toMatchObject({ status: 'succeeded', result: 'left' });
    const second = await run({ name: 'leftovers', source }, { phase: 'check' });
    expect(second.outcome.status).toBe('succeeded');
    const r = second.outcome.result as { before: number; after: number; fired: string[] };
    expect(r.after).toBe(r.before);
    expect(r.fired).toEqual([]);
    for (const logs of [first.logs, second.logs]) expect(logs).not.toMatch(/stale/);
    const late = (driver.stats() as { lateLogBytes: number }).lateLogBytes - lateBefore;
    expect(late).toBeGreaterThanOrEqual('stale ctx.log\nstale console\n'.length);
  });

  it('says how each run started: cold for a new container, warm for a reused one', async () => {
    const source = 'export default () => 1;';
    const a = await run({ name: 'starts', source });
    const b = await run({ name: 'starts', source });
    expect(a.outcome.start).toEqual({ kind: 'cold', initMs: expect.any(Number) });
    expect(b.outcome.start).toEqual({ kind: 'warm', initMs: expect.any(Number) });
    expect(a.outcome.start?.initMs).toBeGreaterThan(b.outcome.start?.initMs ?? 0);
    expect(a.outcome.death).toBeUndefined();
  });

  it('records the cause of death with the usage at that moment: time, crash, error, result', async () => {
    const slow = await run(
      { name: 'death-time', source: 'export default () => new Promise(() => {});' },
      {},
      { timeoutMs: 1500 },
    );
    expect(slow.outcome).toMatchObject({ status: 'timeout', death: { cause: 'time', limit: 1500 } });
    expect(slow.outcome.death?.usage).toEqual(slow.outcome.usage);

    const exits = await run({ name: 'death-crash', source: 'export default () => { process.exit(3); };' });
    expect(exits.outcome).toMatchObject({
      status: 'killed',
      error: { code: 'sandbox_crashed' },
      death: { cause: 'crash' },
      exit: { exitCode: 3 },
    });
    // The crashed container is gone; the next invocation gets a new one.
    const after = await run({ name: 'death-crash', source: 'export default () => { process.exit(3); };' });
    expect(after.outcome.start?.kind).toBe('cold');

    const throws = await run({ name: 'death-error', source: 'export default () => { throw new Error("no"); };' });
    expect(throws.outcome).toMatchObject({ status: 'failed', death: { cause: 'error' } });

    const big = await run(
      { name: 'death-result', source: 'export default () => "x".repeat(5000);' },
      {},
      { resultBytes: 1000 },
    );
    expect(big.outcome).toMatchObject({
      status: 'failed',
      error: { code: 'result_too_large' },
      death: { cause: 'result', limit: 1000 },
    });
  });

  it('records a pids death when a script fails at its pids limit', async () => {
    const source = [
      'import os, sys, time',
      'kids = []',
      'try:',
      '    while True:',
      '        pid = os.fork()',
      '        if pid == 0:',
      '            time.sleep(30)',
      '            os._exit(0)',
      '        kids.append(pid)',
      'except OSError:',
      '    sys.exit(1)',
    ].join('\n');
    const p = await driver.prepare(
      artifact({ name: 'death-pids', runtime: 'script', interpreter: 'python3', trust: 'untrusted', source }),
    );
    const r = runOptions({ timeoutMs: 20_000, pids: 16 });
    const outcome = await driver.run(p, invocation({}), r.options);
    r.dispose();
    expect(outcome).toMatchObject({ status: 'failed', death: { cause: 'pids', limit: 16 } });
  });
});
