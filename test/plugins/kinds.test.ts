/**
 * Each plugin kind end to end through a real worker (in-process app, real isolate tier, plugins
 * loaded from folders on disk into their own threads).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsFunction } from '../gateway/support.ts';
import { eventually, type PluginWorker, type Record_, startPluginWorker } from './support.ts';

const ROOT = resolve(import.meta.dirname, '../..');

describe('plugin kinds through a real worker', { timeout: 120_000 }, () => {
  let w: PluginWorker;
  let eventsFile: string;

  beforeAll(async () => {
    // The monitor writes where the test reads (it also gets node samples, so the file must exist from the start).
    eventsFile = join(mkdtempSync(join(tmpdir(), 'strata-events-')), 'events.jsonl');
    w = await startPluginWorker(
      [
        {
          name: 'gate',
          kind: 'pre',
          source: `export default (ctx) => ({
            pre(inv) {
              if (inv.input && inv.input.forbidden) return { reject: 'forbidden input: ' + inv.function.name };
              if (inv.input && typeof inv.input.n === 'number') return { input: { ...inv.input, n: inv.input.n * 10, by: ctx.config.tag } };
            },
          });`,
          config: { tag: 'gate-plugin' },
        },
        {
          name: 'scrub',
          kind: 'post',
          source: `export default () => ({
            post(record) {
              const logs = record.logs.replace(/token=\\w+/g, 'token=***');
              return { logs, annotations: { status: record.status, scrubbed: logs !== record.logs } };
            },
          });`,
        },
        {
          name: 'watch',
          kind: 'monitor',
          source: `import { appendFileSync } from 'node:fs';
          export default (ctx) => ({
            onEvent(e) { appendFileSync(ctx.config.file, JSON.stringify({ type: e.type, id: e.executionId, data: e.type === 'finish' ? { status: e.data.status } : e.type === 'log' ? e.data : undefined }) + '\\n'); },
          });`,
          config: { file: eventsFile },
        },
      ],
      {
        'executor.hookBudget': '5s',
        'plugins.monitorBudget': '30s',
        'plugins.entries': [{ path: join(ROOT, 'plugins/template-runtime'), enabled: true, config: {} }],
      },
    );
    expect(
      (
        await w.json(
          'POST',
          '/v1/functions',
          jsFunction(
            'echo',
            'export default async (input, ctx) => { console.log("token=abc123 seen"); return input; }',
          ),
        )
      ).status,
    ).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await w?.close();
    rmSync(dirname(eventsFile), { recursive: true, force: true });
  }, 120_000);

  it('lists every plugin loaded, with kinds, state and load time', async () => {
    const { status, body } = await w.json<
      { name: string; state: string; kinds: string[]; loadedAt: string; version: string }[]
    >('GET', '/v1/plugins');
    expect(status).toBe(200);
    expect(body.map((p) => [p.name, p.state])).toEqual([
      ['gate', 'loaded'],
      ['scrub', 'loaded'],
      ['template-runtime', 'loaded'],
      ['watch', 'loaded'],
    ]);
    for (const p of body) expect(Date.parse(p.loadedAt)).not.toBeNaN();
    expect((await w.json<{ kinds: string[] }>('GET', '/v1/plugins/template-runtime')).body.kinds).toEqual(['executor']);
    expect((await w.json('GET', '/v1/plugins/nope')).status).toBe(404);
  });

  it('a pre plugin rejects an invocation: rejected, plugin_rejected, its message', async () => {
    const { body } = await w.json<Record_>('POST', '/v1/functions/echo/invoke', { forbidden: true });
    expect(body.status).toBe('rejected');
    expect(body.error).toEqual({ code: 'plugin_rejected', message: 'forbidden input: echo' });
  });

  it('a pre plugin rewrites the input the function gets, with its own config', async () => {
    const { body } = await w.json<Record_>('POST', '/v1/functions/echo/invoke', { n: 4 });
    expect(body.status).toBe('succeeded');
    expect(body.result).toEqual({ n: 40, by: 'gate-plugin' });
  });

  it('a post plugin redacts the logs and annotates the record', async () => {
    const { body } = await w.json<Record_>('POST', '/v1/functions/echo/invoke', { n: 1 });
    expect(body.logs).toContain('token=*** seen');
    expect(body.logs).not.toContain('abc123');
    expect(body.plugins?.annotations?.scrub).toEqual({ status: 'succeeded', scrubbed: true });
    // The stored record is the redacted one.
    const stored = await w.json<Record_>('GET', `/v1/executions/${body.id}`);
    expect(stored.body.logs).not.toContain('abc123');
  });

  it('a monitor plugin receives start, log and finish events, off the invocation path', async () => {
    const { body } = await w.json<Record_>('POST', '/v1/functions/echo/invoke', { n: 2 });
    const events = await eventually(async () => {
      let text = '';
      try {
        text = readFileSync(eventsFile, 'utf8');
      } catch {
        return undefined;
      }
      const mine = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; id: string; data?: { status?: string; text?: string } })
        .filter((e) => e.id === body.id);
      return mine.some((e) => e.type === 'finish') ? mine : undefined;
    });
    expect(events.map((e) => e.type)).toEqual(['start', 'log', 'finish']);
    expect(events[1]?.data?.text).toContain('token=abc123');
    expect(events[2]?.data?.status).toBe('succeeded');
  });

  it('an executor plugin adds a tier: functions of its runtime are placed, limited and accounted on it', async () => {
    const deploy = await w.json<{ tier: string }>('POST', '/v1/functions', {
      name: 'greet',
      runtime: 'template',
      trust: 'untrusted',
      source: 'Hello {{name}}! {{#each items}}[{{this}}]{{/each}}',
      limits: { timeoutMs: 2000 },
    });
    expect(deploy.status, JSON.stringify(deploy.body)).toBe(201);
    expect(deploy.body.tier).toBe('template');
    const { body } = await w.json<Record_ & { usage: { wallMs: number; measured: string[] } }>(
      'POST',
      '/v1/functions/greet/invoke',
      { name: 'Ada', items: [1, 2] },
    );
    expect(body.status).toBe('succeeded');
    expect(body.result).toBe('Hello Ada! [1][2]');
    expect(body.tier).toBe('template');
    expect(body.logs).toContain('rendered');
    expect(body.usage.measured).toEqual(['wallMs']);
    // Health-checked like the built-in tiers.
    const health = (await (await w.call('GET', '/healthz')).json()) as {
      tiers: Record<string, { available: boolean }>;
    };
    expect(health.tiers.template?.available).toBe(true);
    // Accounted: the invocation metrics carry the tier.
    const metrics = await (await w.call('GET', '/metrics')).text();
    expect(metrics).toMatch(/strata_invocations_total\{(?=[^}]*status="succeeded")(?=[^}]*tier="template")[^}]*\} 1\n/);
    expect(metrics).toMatch(/strata_plugin_template_runtime_renders_total\{status="succeeded"\} 1/);
    // Bad code is refused at deploy by the plugin tier's prepare(), as a built-in tier would.
    const bad = await w.json<{ error: { code: string; message: string } }>('POST', '/v1/functions', {
      name: 'broken',
      runtime: 'template',
      source: '{{#each items}} never closed',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_code');
    expect(bad.body.error.message).toMatch(/unbalanced/);
  });

  it('a runtime no tier runs is refused at deploy', async () => {
    const res = await w.json<{ error: { code: string } }>('POST', '/v1/functions', {
      name: 'nobody',
      runtime: 'cobol',
      source: 'x',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unsupported_runtime');
  });

  it('hook calls are counted by plugin, kind and outcome', async () => {
    const metrics = await (await w.call('GET', '/metrics')).text();
    expect(metrics).toMatch(/strata_plugin_hook_calls_total\{plugin="gate",kind="pre",outcome="rejected"\} [1-9]/);
    expect(metrics).toMatch(/strata_plugin_hook_calls_total\{plugin="scrub",kind="post",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/strata_plugin_state\{plugin="gate",state="loaded"\} 1/);
    expect(metrics).toMatch(/strata_plugin_hook_duration_seconds_bucket/);
  });
});
