/** Invocation routes: sync, async, failures, cancel, usage, metrics, and a multipart WASM deploy. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, eventually, jsFunction, startTestWorker, type TestWorker } from './support.ts';

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
  const deploy = async (manifest: Record<string, unknown>) => {
    const res = await t.call('POST', '/v1/functions', manifest);
    if (res.status !== 201) throw new Error(`deploy ${manifest.name}: ${res.status} ${await res.text()}`);
  };
  await deploy(
    jsFunction(
      'echo',
      'export default async function (input, ctx) { console.log("got", JSON.stringify(input)); return { echo: input }; }',
    ),
  );
  await deploy(jsFunction('thrower', 'export default () => { throw new Error("boom from user code"); }'));
  // Never settles: ends only when cancelled (or at its deadline, far beyond the test).
  await deploy(jsFunction('forever', 'export default () => new Promise(() => {})', { limits: { timeoutMs: 60_000 } }));
});
afterAll(async () => {
  await t?.close();
});

type Rec = Record<string, unknown> & {
  id: string;
  status: string;
  usage: Record<string, unknown>;
  timings: Record<string, unknown>;
  error?: { code: string; message: string };
};

describe('POST /v1/functions/:name/invoke', () => {
  it('answers 200 with the full execution record', async () => {
    const res = await t.call('POST', '/v1/functions/echo/invoke', { a: 1 });
    expect(res.status).toBe(200);
    const rec = (await res.json()) as Rec;
    expect(rec.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(rec).toMatchObject({
      function: { name: 'echo', version: 1 },
      status: 'succeeded',
      result: { echo: { a: 1 } },
      tier: 'isolate',
    });
    expect(rec.logs).toContain('got {"a":1}');
    expect(rec.usage.wallMs).toEqual(expect.any(Number));
    expect(rec.usage.cpuMs).toEqual(expect.any(Number));
    expect(rec.usage.memoryPeakBytes).toEqual(expect.any(Number));
    expect(rec.usage.measured).toEqual(expect.arrayContaining(['wallMs', 'cpuMs', 'memoryPeakBytes']));
    expect(rec.timings.queuedMs).toEqual(expect.any(Number));
    expect(Date.parse(rec.timings.startedAt as string)).not.toBeNaN();
    expect(Date.parse(rec.timings.finishedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(rec.timings.startedAt as string),
    );
    expect(rec).not.toHaveProperty('error');

    // The finished record is also served by id.
    const again = await t.call('GET', `/v1/executions/${rec.id}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: rec.id, status: 'succeeded', result: { echo: { a: 1 } } });
  });

  it('passes an empty body as null input', async () => {
    const rec = (await (await t.call('POST', '/v1/functions/echo/invoke')).json()) as Rec;
    expect(rec).toMatchObject({ status: 'succeeded', result: { echo: null } });
  });

  it('answers 200 with status failed and error {code, message} when the function throws', async () => {
    const res = await t.call('POST', '/v1/functions/thrower/invoke', {});
    expect(res.status).toBe(200);
    const rec = (await res.json()) as Rec;
    expect(rec.status).toBe('failed');
    expect(rec.error?.code).toBe('function_error');
    expect(rec.error?.message).toContain('boom from user code');
    expect(rec).not.toHaveProperty('result');
  });

  it('answers 400 for an input that is not JSON, and 404 for an unknown function', async () => {
    const bad = await t.call('POST', '/v1/functions/echo/invoke', '{nope');
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('invalid_request');
    const unknown = await t.call('POST', '/v1/functions/nobody/invoke', {});
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('not_found');
  });

  it('?async=1 answers 202 {executionId} and the record ends succeeded', async () => {
    const res = await t.call('POST', '/v1/functions/echo/invoke?async=1', { n: 7 });
    expect(res.status).toBe(202);
    const { executionId } = (await res.json()) as { executionId: string };
    expect(executionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('location')).toBe(`/v1/executions/${executionId}`);
    const rec = await eventually(async () => {
      const r = (await (await t.call('GET', `/v1/executions/${executionId}`)).json()) as Rec;
      return r.status === 'succeeded' ? r : undefined;
    });
    expect(rec).toMatchObject({ id: executionId, result: { echo: { n: 7 } }, function: { name: 'echo' } });
  });
});

describe('POST /v1/executions/:id/cancel', () => {
  it('stops a running async invocation: killed with code cancelled', async () => {
    const { executionId } = (await (await t.call('POST', '/v1/functions/forever/invoke?async=1', {})).json()) as {
      executionId: string;
    };
    await eventually(async () => {
      const r = (await (await t.call('GET', `/v1/executions/${executionId}`)).json()) as Rec;
      return r.status === 'running' ? r : undefined;
    });
    const res = await t.call('POST', `/v1/executions/${executionId}/cancel`);
    expect(res.status).toBe(200);
    const rec = (await res.json()) as Rec;
    expect(rec.status).toBe('killed');
    expect(rec.error?.code).toBe('cancelled');
    expect(((await (await t.call('GET', `/v1/executions/${executionId}`)).json()) as Rec).status).toBe('killed');

    // Cancelling again conflicts with its state (409, naming the status); an unknown id is 404.
    const twice = await t.call('POST', `/v1/executions/${executionId}/cancel`);
    expect(twice.status).toBe(409);
    const conflict = await errorOf(twice);
    expect(conflict.code).toBe('conflict');
    expect(conflict.message).toContain('killed');
    expect((await t.call('POST', '/v1/executions/no-such-id/cancel')).status).toBe(404);

    // The tier serves again. (A cancel that reaches the host before its run has taken a
    // sandbox is not honoured and the host is killed and replaced, so allow for a restart.)
    const after = await eventually(async () => {
      const r = (await (await t.call('POST', '/v1/functions/echo/invoke', 1)).json()) as Rec;
      return r.status === 'succeeded' ? r : undefined;
    });
    expect(after.result).toEqual({ echo: 1 });
  });
});

describe('GET /v1/executions/:id/usage', () => {
  it('answers 200 for a known execution and 404 for an unknown one', async () => {
    const rec = (await (await t.call('POST', '/v1/functions/echo/invoke', {})).json()) as Rec;
    const res = await t.call('GET', `/v1/executions/${rec.id}/usage`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { executionId: string; samples: unknown[] };
    expect(body.executionId).toBe(rec.id);
    expect(Array.isArray(body.samples)).toBe(true);
    const unknown = await t.call('GET', '/v1/executions/no-such-id/usage');
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('not_found');
  });
});

describe('GET /metrics', () => {
  it('counts invocations by status and tier and has the latency histogram', async () => {
    await t.call('POST', '/v1/functions/echo/invoke', {});
    await t.call('POST', '/v1/functions/thrower/invoke', {});
    const res = await t.call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const count = (status: string) =>
      Number(
        new RegExp(`^strata_invocations_total\\{[^}]*status="${status}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
      );
    expect(text).toMatch(/^strata_invocations_total\{status="succeeded",tier="isolate"[^}]*\} \d+/m);
    expect(count('succeeded')).toBeGreaterThanOrEqual(1);
    expect(count('failed')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(
      /^strata_invocation_duration_seconds_bucket\{(?=[^}]*tier="isolate")(?=[^}]*le="[^"]+")[^}]*\} \d+/m,
    );
    expect(text).toMatch(/^strata_invocation_duration_seconds_count\{[^}]*\} \d+/m);
  });
});

describe('POST /v1/functions (multipart)', () => {
  it('deploys a manifest with a .wasm module as tier wasm, and it runs', async () => {
    const form = new FormData();
    const manifest = JSON.parse(readFileSync('udf-examples/wasm/wat-add/manifest.json', 'utf8')) as Record<
      string,
      unknown
    >;
    form.set('manifest', JSON.stringify({ ...manifest, name: 'mp-add' }));
    form.set('module', new Blob([readFileSync('udf-examples/wasm/wat-add/add.wasm')]), 'add.wasm');
    const res = await t.worker.app.request('/v1/functions', { method: 'POST', body: form });
    expect(res.status).toBe(201);
    const fn = (await res.json()) as Record<string, unknown>;
    expect(fn).toMatchObject({ name: 'mp-add', version: 1, runtime: 'wasm', tier: 'wasm' });
    const rec = (await (await t.call('POST', '/v1/functions/mp-add/invoke', [40, 2])).json()) as Rec;
    expect(rec).toMatchObject({ status: 'succeeded', result: 42, tier: 'wasm' });
  });

  it('answers 400 for a multipart body without a manifest, or with a module that is not WASM', async () => {
    const empty = new FormData();
    empty.set('other', 'x');
    const res = await t.worker.app.request('/v1/functions', { method: 'POST', body: empty });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain('manifest');

    const junk = new FormData();
    junk.set('manifest', JSON.stringify({ name: 'junk', runtime: 'wasm', trust: 'untrusted', entry: 'add' }));
    junk.set('module', new Blob([new TextEncoder().encode('not wasm at all')]), 'junk.wasm');
    const bad = await t.worker.app.request('/v1/functions', { method: 'POST', body: junk });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('invalid_code');
  });
});
