/**
 * The executor's hook phases with in-process hooks: pre hooks fail fast (reject, replace input,
 * throw, async overrun, the invocation's own deadline), post hooks change the record and their
 * errors are collected, monitor events arrive off the invocation's path and a throwing monitor
 * is counted, and each invocation keeps the hooks it started with.
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/core/execution.ts';
import {
  type MonitorEvent,
  type MonitorHook,
  type PhaseHooks,
  type PostHook,
  type PreHook,
  staticHooks,
} from '../../src/executor/phases.ts';
import type { InvokeRequest } from '../../src/executor/types.ts';
import { artifactOf, type Script } from './fake-driver.ts';
import { setup } from './setup.ts';

const fn = artifactOf();
const request = (input: Script, extra: Partial<InvokeRequest> = {}): InvokeRequest => ({
  artifact: fn,
  input,
  source: 'http',
  ...extra,
});
const pre = (name: string, fn: PreHook['pre']): PreHook => ({ name, pre: fn });
const post = (name: string, fn: PostHook['post']): PostHook => ({ name, post: fn });

describe('pre hooks', () => {
  it('a rejection ends the invocation rejected/plugin_rejected with the message; the tier never runs', async () => {
    const { executor, driver, records } = setup(
      {},
      { hooks: staticHooks({ pre: [pre('gate', () => ({ reject: 'not today' }))] }) },
    );
    const record = await executor.submit(request({ result: 1 })).done;
    expect(record).toMatchObject({ status: 'rejected', error: { code: 'plugin_rejected', message: 'not today' } });
    expect(record.death).toMatchObject({ cause: 'error' });
    expect(record.placement).toEqual({ tier: 'isolate', requested: 'isolate' });
    expect(record).not.toHaveProperty('start');
    expect(driver.started).toEqual([]);
    expect(driver.prepared).toEqual([]);
    expect(records.get(record.id)?.status).toBe('rejected');
  });

  it('a rejection may give its own code (governance: pending_review)', async () => {
    const hooks = staticHooks({
      pre: [pre('review', () => ({ reject: 'waits for approval', code: 'pending_review' }))],
    });
    const { executor } = setup({}, { hooks });
    expect(await executor.submit(request({})).done).toMatchObject({
      status: 'rejected',
      error: { code: 'pending_review', message: 'waits for approval' },
    });
  });

  it('replaces the input for the hooks after it and the run, and sees function, tenant and limits', async () => {
    const seen: unknown[] = [];
    const hooks = staticHooks({
      pre: [
        pre('rewrite', (inv) => {
          seen.push({ ...inv, limits: { timeoutMs: inv.limits.timeoutMs } });
          return { input: { result: 'rewritten' } };
        }),
        pre('after', async (inv) => {
          seen.push(inv.input);
        }),
      ],
    });
    const { executor, driver } = setup({}, { hooks });
    const record = await executor.submit(
      request({ result: 'original' }, { tenant: 'acme', inputJson: '{"result":"original"}' }),
    ).done;
    expect(record).toMatchObject({ status: 'succeeded', result: 'rewritten' });
    expect(seen).toEqual([
      {
        function: { name: fn.name, version: 1 },
        tenant: 'acme',
        input: { result: 'original' },
        limits: { timeoutMs: 5000 },
      },
      { result: 'rewritten' },
    ]);
    // The tier got the new input's JSON, not the request's text.
    expect(driver.invocations[0]?.inputJson).toBe('{"result":"rewritten"}');
  });

  it('a throw, a bad answer or an async overrun ends it rejected/plugin_failed naming the hook', async () => {
    let overrunSignal: AbortSignal | undefined;
    const cases: [PreHook, RegExp][] = [
      [
        pre('thrower', () => {
          throw new Error('kaput');
        }),
        /pre hook "thrower" threw: kaput/,
      ],
      [pre('rejecter', () => Promise.reject(new Error('async kaput'))), /pre hook "rejecter" threw: async kaput/],
      [pre('odd', () => 42 as never), /pre hook "odd" returned number/],
      [
        pre('slow', (_inv, signal) => {
          overrunSignal = signal;
          return new Promise(() => {});
        }),
        /pre hook "slow" did not answer within its 40 ms budget/,
      ],
      // Hooks that take no signal get none of their own (phase-runner's withoutOwnSignal): same verdicts.
      [
        pre('slow-unsignalled', () => new Promise(() => {})),
        /pre hook "slow-unsignalled" did not answer within its 40 ms budget/,
      ],
      [
        pre('busy-unsignalled', () => {
          const until = performance.now() + 80;
          while (performance.now() < until);
        }),
        /pre hook "busy-unsignalled" did not answer within its 40 ms budget/,
      ],
    ];
    for (const [hook, message] of cases) {
      const { executor, driver } = setup({ 'executor.hookBudget': '40ms' }, { hooks: staticHooks({ pre: [hook] }) });
      const record = await executor.submit(request({})).done;
      expect(record, hook.name).toMatchObject({ status: 'rejected', error: { code: 'plugin_failed' } });
      expect(record.error?.message).toMatch(message);
      expect(driver.started).toEqual([]);
    }
    // The overrun hook was told its answer is no longer wanted.
    expect(overrunSignal?.aborted).toBe(true);
  });

  it('runs after admission: a queued invocation is not seen by pre hooks until it has a slot', async () => {
    const calls: string[] = [];
    const hooks = staticHooks({ pre: [pre('count', (inv) => void calls.push(String((inv.input as Script).result)))] });
    const { executor } = setup({ 'executor.concurrency': 1 }, { hooks });
    const first = executor.submit(request({ hang: true, result: 'first' }));
    const second = executor.submit(request({ result: 'second' }));
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['first']);
    await executor.cancel(first.id);
    await second.done;
    expect(calls).toEqual(['first', 'second']);
  });

  it('the invocation deadline stops a pre hook that waits: status timeout, not a hook failure', async () => {
    let hookSignal: AbortSignal | undefined;
    const hooks = staticHooks({
      pre: [
        pre('waits', (_inv, signal) => {
          hookSignal = signal;
          return new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined)));
        }),
      ],
    });
    const { executor } = setup({ 'executor.hookBudget': '60s' }, { hooks });
    const record = await executor.submit(request({}, { timeoutMs: 100 })).done;
    expect(record).toMatchObject({ status: 'timeout', error: { code: 'timeout' } });
    expect(record.death).toMatchObject({ cause: 'time', limit: 100 });
    expect(hookSignal?.aborted).toBe(true);
  });

  it('the deadline also stops a waiting pre hook that takes no signal', async () => {
    const hooks = staticHooks({ pre: [pre('waits-unsignalled', () => new Promise(() => {}))] });
    const { executor, driver } = setup({ 'executor.hookBudget': '60s' }, { hooks });
    const record = await executor.submit(request({}, { timeoutMs: 100 })).done;
    expect(record).toMatchObject({ status: 'timeout', error: { code: 'timeout' } });
    expect(driver.started).toEqual([]);
  });
});

describe('post hooks', () => {
  it('replace the result and logs and add annotations, before the record is saved', async () => {
    const hooks = staticHooks({
      post: [
        post('redact', (record) => ({
          result: JSON.parse(JSON.stringify(record.result).replaceAll('secret', '***')),
          logs: record.logs.replaceAll('secret', '***'),
          annotations: { redacted: true },
        })),
        post('tag', async () => ({ annotations: { team: 'data' } })),
      ],
    });
    const { executor, records } = setup({}, { hooks });
    const record = await executor.submit(request({ result: { token: 'secret' }, log: 'the secret is out\n' })).done;
    expect(record).toMatchObject({ status: 'succeeded', result: { token: '***' }, logs: 'the *** is out\n' });
    expect(record.plugins).toEqual({ annotations: { redact: { redacted: true }, tag: { team: 'data' } } });
    expect(records.get(record.id)).toMatchObject({ result: { token: '***' }, plugins: record.plugins });
  });

  it('collect a throw, an overrun and a bad change into record.plugins.errors; the invocation stands', async () => {
    const hooks = staticHooks({
      post: [
        post('thrower', () => {
          throw new Error('post kaput');
        }),
        post('slow', () => new Promise(() => {})),
        post('bad-logs', () => ({ logs: 7 as unknown as string })),
        post('fine', () => ({ annotations: { ok: 1 } })),
      ],
    });
    const { executor } = setup({ 'executor.hookBudget': '40ms' }, { hooks });
    const record = await executor.submit(request({ result: 5 })).done;
    expect(record).toMatchObject({ status: 'succeeded', result: 5 });
    expect(record.plugins?.errors).toEqual([
      { plugin: 'thrower', phase: 'post', message: 'post hook "thrower" threw: post kaput' },
      { plugin: 'slow', phase: 'post', message: expect.stringMatching(/did not answer within its 40 ms budget/) },
      { plugin: 'bad-logs', phase: 'post', message: expect.stringMatching(/logs that are not text/) },
    ]);
    expect(record.plugins?.annotations).toEqual({ fine: { ok: 1 } });
  });

  it('cannot give a failed invocation a result, and a result they make unstorable fails the record', async () => {
    const hooks = staticHooks({ post: [post('adds', () => ({ result: { n: 10n } }))] });
    const { executor, records } = setup({}, { hooks });
    const failed = await executor.submit(request({ fail: 'no' })).done;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'function_error' } });
    expect(failed).not.toHaveProperty('result');
    expect(failed.plugins?.errors?.[0]?.message).toMatch(/only a succeeded one has a result/);
    const broken = await executor.submit(request({ result: 1 })).done;
    expect(broken).toMatchObject({ status: 'failed', error: { code: 'result_not_serializable' } });
    expect(records.get(broken.id)?.status).toBe('failed');
  });
});

describe('monitor hooks', () => {
  it('get start, log and finish off the invocation path; a throwing monitor is caught and counted', async () => {
    const events: MonitorEvent[] = [];
    const monitor: MonitorHook = { name: 'watch', onEvent: (e) => void events.push(e) };
    const thrower: MonitorHook = {
      name: 'thrower',
      onEvent: () => {
        throw new Error('monitor kaput');
      },
    };
    const { executor } = setup({}, { hooks: staticHooks({ monitor: [thrower, monitor] }) });
    const submission = executor.submit(request({ result: 1, log: 'hi\n' }));
    // Queued, not called inline.
    expect(events).toEqual([]);
    const record = await submission.done;
    expect(record.status).toBe('succeeded');
    await executor.monitorSettled();
    expect(events.map((e) => e.type)).toEqual(['start', 'log', 'finish']);
    expect(events.every((e) => e.executionId === record.id && Date.parse(e.at) > 0)).toBe(true);
    expect(events[1]?.data).toEqual({ text: 'hi\n' });
    expect((events[2]?.data as ExecutionRecord | undefined)?.status).toBe('succeeded');
    expect(executor.hookStats().monitorErrors).toBe(3);
  });

  it('get tier health changes', async () => {
    const events: MonitorEvent[] = [];
    const { executor, driver } = setup(
      {},
      { hooks: staticHooks({ monitor: [{ name: 'w', onEvent: (e) => void events.push(e) }] }) },
    );
    executor.tierHealth();
    driver.health_ = { available: false, reason: 'host pool down' };
    executor.tierHealth();
    await executor.monitorSettled();
    expect(events).toEqual([
      {
        type: 'tier',
        at: expect.any(String),
        data: { tier: 'isolate', health: { available: false, reason: 'host pool down' } },
      },
    ]);
  });
});

describe('hook snapshots', () => {
  it('an invocation keeps the hooks it was submitted with when they change in flight', async () => {
    let current: { pre: PreHook[]; post: PostHook[] } = {
      pre: [pre('v1', () => undefined)],
      post: [post('v1', () => ({ annotations: { version: 1 } }))],
    };
    const hooks: PhaseHooks = { pre: () => current.pre, post: () => current.post, monitor: () => [] };
    const { executor } = setup({}, { hooks });
    const inFlight = executor.submit(request({ ms: 50 }));
    current = {
      pre: [pre('v2', () => ({ reject: 'v2 rejects' }))],
      post: [post('v2', () => ({ annotations: { version: 2 } }))],
    };
    const first = await inFlight.done;
    expect(first).toMatchObject({ status: 'succeeded', plugins: { annotations: { v1: { version: 1 } } } });
    const second = await executor.submit(request({})).done;
    expect(second).toMatchObject({ status: 'rejected', error: { message: 'v2 rejects' } });
  });
});
