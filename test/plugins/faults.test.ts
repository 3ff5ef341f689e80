/**
 * A plugin never takes the worker down: a hook that throws, one that never answers and one that
 * spins in `while (true)` are stopped, counted and reported, the worker answers /healthz over
 * real HTTP throughout, and each plugin ends `disabled` by the circuit breaker with an alert,
 * which the webhook (a loopback server) receives.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsFunction } from '../gateway/support.ts';
import { eventually, type PluginWorker, type Record_, startPluginWorker } from './support.ts';

type AlertBody = {
  id: string;
  at: string;
  severity: string;
  source: string;
  message: string;
  details: Record<string, unknown>;
};

describe('faulty plugins through a real worker', { timeout: 120_000 }, () => {
  let w: PluginWorker;
  let hook: Server;
  const received: AlertBody[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body) as AlertBody);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
    w = await startPluginWorker(
      [
        {
          name: 'thrower',
          kind: 'pre',
          source: `export default () => ({ pre(inv) { if (inv.input?.mode === 'throw') throw new Error('boom from thrower'); } });`,
        },
        {
          name: 'hanger',
          kind: 'post',
          source: `export default () => ({ post(r) { if (r.result?.mode === 'hang') return new Promise(() => {}); } });`,
        },
        {
          name: 'spinner',
          kind: 'pre',
          source: `export default () => ({ pre(inv) { if (inv.input?.mode === 'spin') { while (true) {} } } });`,
        },
      ],
      {
        'alerts.webhook': webhook,
        // Generous for a shared machine at a load average of 40: a healthy hook must never overrun it.
        'executor.hookBudget': '2s',
        'plugins.breakerFailures': 3,
        'plugins.breakerWindow': '10m',
        'plugins.loadBudget': '60s',
        'plugins.initBudget': '30s',
      },
      { listen: true },
    );
    expect((await w.json('POST', '/v1/functions', jsFunction('echo', 'export default async (i) => i'))).status).toBe(
      201,
    );
  }, 180_000);

  afterAll(async () => {
    await w?.close();
    await new Promise((r) => hook?.close(r));
  });

  const state = async (name: string) =>
    (await w.json<{ state: string; health: { status: string } }>('GET', `/v1/plugins/${name}`)).body;
  const invoke = async (input: unknown) =>
    (await (
      await fetch(`${w.worker.url}/v1/functions/echo/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      })
    ).json()) as Record_;

  it('a throwing pre hook rejects with plugin_failed; repeated, the breaker disables it with an alert to the webhook', async () => {
    const first = await invoke({ mode: 'throw' });
    expect(first.status).toBe('rejected');
    expect(first.error?.code).toBe('plugin_failed');
    expect(first.error?.message).toContain('boom from thrower');
    expect((await state('thrower')).health.status).toBe('degraded');
    await invoke({ mode: 'throw' });
    await invoke({ mode: 'throw' });
    await eventually(async () => ((await state('thrower')).state === 'disabled' ? true : undefined), 60_000);
    // Disabled: its hook is no longer called, the same input now runs.
    expect((await invoke({ mode: 'throw' })).status).toBe('succeeded');
    const alerts = (await w.json<AlertBody[]>('GET', '/v1/alerts')).body;
    const disabled = alerts.find((a) => a.source === 'plugin:thrower' && a.message.includes('was disabled'));
    expect(disabled?.severity).toBe('critical');
    const sent = await eventually(async () => received.find((a) => a.id === disabled?.id), 60_000);
    expect(sent).toEqual(disabled);
  }, 120_000);

  it('a post hook that never answers is cut at its budget; the invocation stands with the error in record.plugins.errors', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await invoke({ mode: 'hang' });
      expect(r.status).toBe('succeeded');
      expect(r.result).toEqual({ mode: 'hang' });
      expect(r.plugins?.errors?.[0]).toMatchObject({ plugin: 'hanger', phase: 'post' });
      expect(r.plugins?.errors?.[0]?.message).toMatch(/did not answer within its 2000 ms budget/);
    }
    await eventually(async () => ((await state('hanger')).state === 'disabled' ? true : undefined), 60_000);
    expect((await invoke({ mode: 'hang' })).plugins).toBeUndefined();
  }, 120_000);

  it('a pre hook spinning in while(true) does not block HTTP: /healthz answers meanwhile; its thread is stopped; it ends disabled', async () => {
    let healthy = 0;
    let spinning = true;
    const probe = (async () => {
      while (spinning) {
        const res = await fetch(`${w.worker.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
        if (res.status === 200) healthy++;
        await res.body?.cancel();
      }
    })();
    const outcomes: Record_[] = [];
    const serving = () => w.worker.plugins.pre().some((h) => h.name === 'spinner');
    for (let i = 0; i < 10; i++) {
      // After a spin its thread is stopped and started again: wait until it serves again (or is disabled).
      const now = await eventually(async () => {
        const s = (await state('spinner')).state;
        return s === 'disabled' ? 'disabled' : serving() ? 'serving' : undefined;
      }, 90_000);
      if (now === 'disabled') break;
      const outcome = await invoke({ mode: 'spin' });
      // The breaker may trip between the check and the call (a late failure of the previous spin):
      // then the hook is gone and the call runs; that is the end state the test waits for.
      if (outcome.status === 'succeeded' && (await state('spinner')).state === 'disabled') break;
      // Or the previous spin's thread was stopped between the check and the call (a busy machine
      // stretches that window): the call ran while the hook was not registered. Not a spin.
      if (outcome.status === 'succeeded' && !serving()) continue;
      outcomes.push(outcome);
    }
    spinning = false;
    await probe;
    // breakerFailures is 3: at most three spins are cut at their budget (a call that reached the
    // thread while it was being stopped fails too, as "the plugin was stopped").
    const overruns = outcomes.filter((o) => /did not answer within/.test(o.error?.message ?? ''));
    expect(overruns.length).toBeGreaterThanOrEqual(1);
    expect(overruns.length).toBeLessThanOrEqual(3);
    expect(outcomes[0]?.error?.message).toMatch(/pre hook "spinner" did not answer within its 2000 ms budget/);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect(o.error?.code).toBe('plugin_failed');
      expect(o.error?.message).toMatch(
        /pre hook "spinner" (did not answer within its 2000 ms budget|threw: the plugin)/,
      );
    }
    expect(healthy).toBeGreaterThan(0);
    expect((await state('spinner')).state).toBe('disabled');
    expect((await invoke({ mode: 'spin' })).status).toBe('succeeded');
    const metrics = await (await fetch(`${w.worker.url}/metrics`)).text();
    expect(metrics).toMatch(/strata_plugin_hook_calls_total\{plugin="spinner",kind="pre",outcome="timeout"\} [1-9]/);
    expect(metrics).toMatch(/strata_plugin_state\{plugin="spinner",state="disabled"\} 1/);
    await eventually(async () =>
      received.find((a) => a.source === 'plugin:spinner' && a.message.includes('was disabled')),
    );
  }, 400_000);

  it('an operator enables a disabled plugin again', async () => {
    const res = await w.json<{ state: string }>('POST', '/v1/plugins/thrower/enable');
    expect(res.body.state).toBe('loaded');
    expect((await invoke({ mode: 'throw' })).error?.code).toBe('plugin_failed');
  }, 60_000);
});
