/**
 * The default path a new user takes: standard JS (no --trust) deploys into the WASM tier, and the
 * deploy answer says where the time went (`compile: {cached, ms, steps}`); the same code deployed
 * again is served from the compile cache and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWorker, type TestWorker } from './support.ts';

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
}, 0);
afterAll(async () => {
  await t?.close();
});

const source = 'export default async function (input, ctx) { ctx.log("hi"); return { hello: input.name } }';

describe('deploy answer', () => {
  it('reports the compile of a standard JS function, then a cached one, and the function runs', async () => {
    const first = await t.call('POST', '/v1/functions', { name: 'report-a', runtime: 'js', source });
    expect(first.status).toBe(201);
    const a = (await first.json()) as { tier: string; compile?: { cached: boolean; ms: number; steps: object } };
    expect(a.tier).toBe('wasm');
    expect(a.compile).toMatchObject({ cached: expect.any(Boolean), ms: expect.any(Number) });
    expect(Object.keys(a.compile?.steps ?? {}).length).toBeGreaterThan(0);

    // A new version of the same code: the tier has it compiled already.
    const second = await t.call('POST', '/v1/functions', {
      name: 'report-a',
      runtime: 'js',
      source,
      description: 'v2',
    });
    const b = (await second.json()) as { version: number; compile?: { cached: boolean } };
    expect(b.version).toBe(2);
    expect(b.compile).toBeDefined();

    const invoked = await t.call('POST', '/v1/functions/report-a/invoke', { name: 'Ada' });
    const record = (await invoked.json()) as { status: string; result: unknown; logs: string };
    expect(record.status).toBe('succeeded');
    expect(record.result).toEqual({ hello: 'Ada' });
    expect(record.logs).toContain('hi');
  }, 300_000);
});
