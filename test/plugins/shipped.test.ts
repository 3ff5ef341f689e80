/** The plugins that ship with Strata (top-level plugins/), each loaded by a real worker. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsFunction } from '../gateway/support.ts';
import { eventually, type PluginWorker, type Record_, startPluginWorker } from './support.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const entry = (name: string, config: Record<string, unknown> = {}) => ({
  path: join(ROOT, 'plugins', name),
  enabled: true,
  config,
});

describe('shipped plugins', { timeout: 120_000 }, () => {
  let w: PluginWorker;
  let usageFile: string;

  beforeAll(async () => {
    w = await startPluginWorker([], {
      'executor.hookBudget': '10s',
      'plugins.loadBudget': '60s',
      'plugins.initBudget': '30s',
    });
    usageFile = join(w.dataDir, 'usage', 'usage.jsonl');
    w.worker.config.plugins.entries.push(
      entry('input-schema'),
      entry('redact', { patterns: ['internal-\\d{4}'] }),
      entry('usage-export', { file: usageFile, maxBytes: 600, keep: 2 }),
      entry('template-runtime'),
    );
    await w.worker.plugins.sync();
    const states = w.worker.plugins.list().map((p) => [p.name, p.state, p.error]);
    expect(states).toEqual([
      ['input-schema', 'loaded', undefined],
      ['redact', 'loaded', undefined],
      ['template-runtime', 'loaded', undefined],
      ['usage-export', 'loaded', undefined],
    ]);
  }, 180_000);

  afterAll(async () => {
    await w?.close();
  }, 120_000);

  it('input-schema rejects an input that does not match the manifest inputSchema, listing what is wrong', async () => {
    const deploy = await w.json(
      'POST',
      '/v1/functions',
      jsFunction('typed', 'export default async (i) => i.a + i.b', {
        inputSchema: {
          type: 'object',
          required: ['a', 'b'],
          properties: { a: { type: 'number' }, b: { type: 'number' }, op: { enum: ['add'] } },
          additionalProperties: false,
        },
      }),
    );
    expect(deploy.status).toBe(201);
    const ok = await w.json<Record_>('POST', '/v1/functions/typed/invoke', { a: 1, b: 2 });
    expect(ok.body.status).toBe('succeeded');
    expect(ok.body.result).toBe(3);
    const bad = await w.json<Record_>('POST', '/v1/functions/typed/invoke', { a: 'x', op: 'mul', extra: 1 });
    expect(bad.body.status).toBe('rejected');
    expect(bad.body.error?.code).toBe('plugin_rejected');
    const message = bad.body.error?.message ?? '';
    expect(message).toMatch(/does not match the function's inputSchema/);
    expect(message).toContain("must have required property 'b'");
    expect(message).toContain('/a must be number');
    expect(message).toContain('must NOT have additional properties');
    expect(message).toContain('/op must be equal to one of the allowed values (add)');
    // A function without a schema is not checked.
    await w.json('POST', '/v1/functions', jsFunction('free', 'export default async (i) => i'));
    expect((await w.json<Record_>('POST', '/v1/functions/free/invoke', { anything: true })).body.status).toBe(
      'succeeded',
    );
  });

  it('redact masks API keys, bearer tokens, e-mail addresses and configured patterns in results and logs', async () => {
    await w.json(
      'POST',
      '/v1/functions',
      jsFunction(
        'leaky',
        `export default async () => {
          console.log('calling with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def for ops@example.org');
          return { key: 'sk-live1234567890abcdefXYZ', nested: ['AKIAABCDEFGHIJKLMNOP', 'ticket internal-1234'], fine: 'hello' };
        }`,
      ),
    );
    const { body } = await w.json<Record_>('POST', '/v1/functions/leaky/invoke', {});
    expect(body.status).toBe('succeeded');
    expect(body.result).toEqual({
      key: '[REDACTED]',
      nested: ['[REDACTED]', 'ticket [REDACTED]'],
      fine: 'hello',
    });
    expect(body.logs).toContain('Bearer [REDACTED] for [REDACTED]');
    expect(body.logs).not.toMatch(/eyJ|ops@example/);
    expect(body.plugins?.annotations?.redact).toEqual({ masked: 5 });
  });

  it('usage-export appends one JSON line per finished invocation and rotates the file by size', async () => {
    for (let i = 0; i < 6; i++) await w.json('POST', '/v1/functions/free/invoke', { i });
    const lines = await eventually(async () => {
      const files = [usageFile, `${usageFile}.1`, `${usageFile}.2`].filter((f) => existsSync(f));
      const all = files.flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').filter(Boolean));
      const parsed = all.map((l) => JSON.parse(l) as { function: string; status: string; usage: { wallMs: number } });
      return parsed.filter((p) => p.function === 'free').length >= 3 && existsSync(`${usageFile}.1`)
        ? parsed
        : undefined;
    });
    for (const line of lines) {
      expect(typeof line.function).toBe('string');
      expect(typeof line.status).toBe('string');
      expect(typeof line.usage.wallMs).toBe('number');
    }
    // Rotated by size: no file passes maxBytes by more than one line; at most `keep` old ones.
    expect(readFileSync(usageFile, 'utf8').length).toBeLessThanOrEqual(1200);
    expect(existsSync(`${usageFile}.3`)).toBe(false);
  });

  it('template-runtime adds the template runtime (a tier from outside the core)', async () => {
    await w.json('POST', '/v1/functions', { name: 'hello', runtime: 'template', source: 'Hi {{user.name}}' });
    const { body } = await w.json<Record_>('POST', '/v1/functions/hello/invoke', { user: { name: 'Lin' } });
    expect(body).toMatchObject({ status: 'succeeded', result: 'Hi Lin', tier: 'template' });
  });
});
