/**
 * One JS function, every tier that runs JS: `ctx` is the same frozen object with the same members
 * and types (CONTRACTS.md "JS ctx"), console.* and ctx.log reach the record's logs in order with
 * the same formatting, timers exist, really wait and are cleared, and the result comes back.
 *
 * The table below lists the tiers. An entry with `pending` is not run yet: it names the branch
 * that makes its tier conform; enabling it is deleting that one line. Entries that need a facility
 * (Docker) skip with the reason, and fail under STRATA_REQUIRE_ALL=1.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Artifact, Invocation, RunOptions, SandboxDriver } from '../../src/core/driver.ts';
import { StrataError } from '../../src/core/errors.ts';
import type { RunOutcome } from '../../src/core/execution.ts';
import type { ResolvedLimits } from '../../src/core/limits.ts';
import { LogBudget } from '../../src/core/log-budget.ts';
import { type ManifestInput, manifestSchema } from '../../src/core/manifest.ts';
import { describeIf, type Requirement } from '../support/requirements.ts';
import { dockerRequirement } from './docker/helpers.ts';

const TIMEOUT_MS = 30_000;

/** The function every tier runs. */
const SOURCE = `export default async function (input, ctx) {
  const started = Date.now();
  console.log('console.log', 1, { a: 1 });
  ctx.log('ctx.log', input.n);
  console.info('info');
  console.warn('warned');
  console.error('failed', new Error('e1').message);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const waitedMs = Date.now() - started;
  let ticks = 0;
  await new Promise((resolve) => {
    const id = setInterval(() => {
      if (++ticks === 3) { clearInterval(id); resolve(); }
    }, 2);
  });
  const cancelled = setTimeout(() => ctx.log('a cleared timer fired'), 1);
  clearTimeout(cancelled);
  await new Promise((resolve) => setTimeout(resolve, 10));
  // Left running: the tier clears it when the invocation ends.
  setInterval(() => ctx.log('an interval outlived the invocation'), 1);
  ctx.log('done');
  return {
    keys: Object.keys(ctx).sort(),
    frozen: Object.isFrozen(ctx) && Object.isFrozen(ctx.function),
    types: {
      executionId: typeof ctx.executionId,
      function: typeof ctx.function,
      name: typeof ctx.function.name,
      version: typeof ctx.function.version,
      deadline: typeof ctx.deadline,
      log: typeof ctx.log,
      setTimeout: typeof setTimeout,
      clearTimeout: typeof clearTimeout,
      setInterval: typeof setInterval,
      clearInterval: typeof clearInterval,
    },
    executionId: ctx.executionId,
    function: ctx.function,
    deadline: ctx.deadline,
    waitedMs,
    ticks,
    echo: input,
  };
}`;

interface Ran {
  outcome: RunOutcome;
  logs: string;
  invocation: Invocation;
  deadline: number;
}

interface TierRunner {
  run(name: string, input: unknown): Promise<Ran>;
  stop(): Promise<void>;
}

interface TierEntry {
  name: string;
  /** Not run yet: the branch that makes this tier conform. Delete the line to enable it. */
  pending?: string;
  requirement?: () => Requirement;
  /** Members only this tier has (the isolate's ctx.fetch, docs/governance.md), beside the common ones. */
  extraKeys?: string[];
  start(): Promise<TierRunner>;
}

function jsArtifact(name: string, trust: ManifestInput['trust']): Artifact {
  const manifest = manifestSchema.parse({ name, runtime: 'js', trust, source: SOURCE });
  return {
    digest: randomUUID().replaceAll('-', ''),
    name,
    version: 3,
    manifest,
    code: new TextEncoder().encode(SOURCE),
  };
}

/** Runs like the executor: deadline, a signal that fires at it, a log budget. */
function runnerOf(driver: SandboxDriver, trust: ManifestInput['trust'], stop: () => Promise<void>): TierRunner {
  return {
    async run(name, input) {
      const limits: ResolvedLimits = {
        timeoutMs: TIMEOUT_MS,
        memoryMb: 128,
        logBytes: 64 * 1024,
        resultBytes: 1 << 20,
        pids: 64,
        tmpMb: 64,
        errorBytes: 16 * 1024,
      };
      // Prepare first (it may build an engine for minutes on a busy machine); the deadline is the run's.
      const prepared = await driver.prepare(jsArtifact(name, trust));
      const controller = new AbortController();
      const deadline = Date.now() + limits.timeoutMs;
      const timer = setTimeout(
        () => controller.abort(new StrataError('timeout', `past its ${limits.timeoutMs} ms deadline`)),
        limits.timeoutMs,
      );
      const logs = new LogBudget(limits.logBytes);
      const invocation: Invocation = { id: randomUUID(), input, inputJson: JSON.stringify(input), priority: 0 };
      const options: RunOptions = { deadline, limits, signal: controller.signal, logs };
      try {
        const outcome = await driver.run(prepared, invocation, options);
        return { outcome, logs: logs.text(), invocation, deadline };
      } finally {
        clearTimeout(timer);
      }
    },
    stop,
  };
}

const TIERS: TierEntry[] = [
  {
    name: 'wasm component (standard JS, StarlingMonkey engine)',
    async start() {
      const { makeDriver } = await import('./wasm/helpers.ts');
      const fx = makeDriver();
      await fx.driver.start();
      return runnerOf(fx.driver, 'standard', () => fx.cleanup());
    },
  },
  {
    name: 'isolate, warm (trusted JS)',
    extraKeys: ['fetch'],
    async start() {
      const { IsolateDriver } = await import('../../sandboxes/isolate/driver.ts');
      const driver = new IsolateDriver({ hosts: 1, maxWarm: 8 });
      await driver.start();
      return runnerOf(driver, 'trusted', () => driver.dispose());
    },
  },
  {
    name: 'isolate, fresh (standard JS placed in the isolate tier)',
    extraKeys: ['fetch'],
    async start() {
      const { IsolateDriver } = await import('../../sandboxes/isolate/driver.ts');
      const driver = new IsolateDriver({ hosts: 1, maxWarm: 8 });
      await driver.start();
      return runnerOf(driver, 'standard', () => driver.dispose());
    },
  },
  {
    name: 'docker (untrusted JS, warm runner)',
    requirement: dockerRequirement,
    async start() {
      const { startSuiteDriver, stopSuiteDriver, uniqueWorkerId } = await import('./docker/helpers.ts');
      const workerId = uniqueWorkerId('ctx');
      const driver = await startSuiteDriver({ poolMin: 0, poolMaxPerKey: 1 }, workerId);
      return runnerOf(driver, 'untrusted', () => stopSuiteDriver(driver, workerId));
    },
  },
];

for (const tier of TIERS) {
  // A pending tier is a missing facility like any other: printed as a skip, a failure in CI.
  const requirement = tier.pending
    ? { ok: false, reason: `pending: ${tier.pending}` }
    : (tier.requirement?.() ?? { ok: true });
  describeIf(requirement, `JS ctx conformance: ${tier.name}`, () => {
    let runner: TierRunner;
    let ran: Ran;
    beforeAll(async () => {
      runner = await tier.start();
      // The first run may compile (an engine, a runner image): no time limit on that.
      ran = await runner.run('ctx-conformance', { n: 5 });
    }, 0);
    afterAll(async () => {
      await runner?.stop();
    });

    it('returns the result', () => {
      expect(ran.outcome.status, JSON.stringify(ran.outcome)).toBe('succeeded');
      expect(ran.outcome.result).toMatchObject({ echo: { n: 5 }, ticks: 3 });
    });

    it('gives ctx exactly the contracted members, with their types, frozen', () => {
      const result = ran.outcome.result as Record<string, unknown>;
      expect(result.keys).toEqual(['deadline', 'executionId', 'function', 'log', ...(tier.extraKeys ?? [])].sort());
      expect(result.frozen).toBe(true);
      expect(result.types).toEqual({
        executionId: 'string',
        function: 'object',
        name: 'string',
        version: 'number',
        deadline: 'number',
        log: 'function',
        setTimeout: 'function',
        clearTimeout: 'function',
        setInterval: 'function',
        clearInterval: 'function',
      });
      expect(result.executionId).toBe(ran.invocation.id);
      expect(result.function).toEqual({ name: 'ctx-conformance', version: 3 });
      expect(result.deadline).toBe(ran.deadline);
    });

    it('puts console.* and ctx.log into the logs in order, formatted alike', () => {
      expect(ran.logs).toBe('console.log 1 {"a":1}\nctx.log 5\ninfo\nWARN warned\nERROR failed e1\ndone\n');
    });

    it('has timers that really wait and are cleared (by clearTimeout, and at the end)', () => {
      // A timer never fires early: a lower bound, whatever the machine's speed.
      expect((ran.outcome.result as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(15);
      expect(ran.logs).not.toContain('cleared timer fired');
      expect(ran.logs).not.toContain('outlived the invocation');
    });
  });
}
