/** Body limit (413 without buffering), bearer auth, and 503 + Retry-After when the worker is full. */

import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, eventually, jsFunction, startTestWorker, type TestWorker } from './support.ts';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('body limit and authentication (bodyLimit 1KiB, apiTokens set)', () => {
  let t: TestWorker;
  beforeAll(async () => {
    t = await startTestWorker({ bodyLimit: '1KiB', apiTokens: [TOKEN] }, { listen: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  const big = JSON.stringify(jsFunction('big', `export default () => 1; // ${'x'.repeat(2048)}`));

  it('answers 413 for a body over the limit that declares its Content-Length', async () => {
    const res = await t.call('POST', '/v1/functions', big, { ...auth, 'content-length': String(big.length) });
    expect(res.status).toBe(413);
    const error = await errorOf(res);
    expect(error.code).toBe('payload_too_large');
    expect(error.message).toContain('1KiB');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers 413 for a streamed body without reading more than a bounded part of it', async () => {
    let pulled = 0;
    // An endless body: a gateway that buffered it whole would never answer.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 256;
        controller.enqueue(new Uint8Array(256).fill(0x20));
      },
    });
    const res = await t.worker.app.request(
      new Request('http://worker/v1/functions', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit),
    );
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('payload_too_large');
    expect(pulled).toBeLessThan(64 * 1024);
  });

  it('answers 413 over a socket while a chunked upload is still being sent', async () => {
    const url = new URL('/v1/functions', t.worker.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      // Send 4 KiB and never end the request: the 413 must come anyway.
      for (let i = 0; i < 16; i++) req.write('x'.repeat(256));
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('payload_too_large');
  });

  it('accepts a body within the limit', async () => {
    const res = await t.call('POST', '/v1/functions', jsFunction('small', 'export default () => 1'), auth);
    expect(res.status).toBe(201);
  });

  it('lets a raw WASM upload past the body limit (it has its own cap, wasm.maxUpload)', async () => {
    const bytes = readFileSync('udf-examples/wasm/c-stats/stats.wasm');
    expect(bytes.length).toBeGreaterThan(1024);
    const res = await t.worker.app.request('/v1/functions/c-stats/module', {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/wasm', 'content-length': String(bytes.length) },
      body: bytes,
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: 'c-stats', runtime: 'wasm', tier: 'wasm' });
  });

  it('answers 401 without a token or with a wrong one, and serves with the right one', async () => {
    const none = await t.call('GET', '/v1/functions', undefined, {});
    expect(none.status).toBe(401);
    expect((await errorOf(none)).code).toBe('unauthorized');
    const wrong = await t.call('GET', '/v1/functions', undefined, { authorization: 'Bearer wrong-token-0123456789' });
    // A key that is not valid is 401 (tenants issue); 403 is for a valid key without the scope.
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe('unauthorized');
    const notBearer = await t.call('GET', '/v1/functions', undefined, { authorization: `Basic ${TOKEN}` });
    expect(notBearer.status).toBe(401);
    const right = await t.call('GET', '/v1/functions', undefined, auth);
    expect(right.status).toBe(200);
    // Auth comes before the body limit: an anonymous big body is 401, not 413.
    expect((await t.call('POST', '/v1/functions', big, {})).status).toBe(401);
  });

  it('keeps /healthz open', async () => {
    const res = await t.call('GET', '/healthz', undefined, {});
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('ok');
  });
});

describe('a full worker (concurrency 1, queueSize 0)', () => {
  let t: TestWorker;
  beforeAll(async () => {
    t = await startTestWorker({ 'executor.concurrency': 1, 'executor.queueSize': 0, 'executor.retryAfter': '2s' });
    for (const manifest of [
      jsFunction('forever', 'export default () => new Promise(() => {})', { limits: { timeoutMs: 60_000 } }),
      jsFunction('quick', 'export default () => "done"'),
    ]) {
      const res = await t.call('POST', '/v1/functions', manifest);
      if (res.status !== 201) throw new Error(`deploy: ${res.status} ${await res.text()}`);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 503 with Retry-After while the slot is taken, and serves again once it is free', async () => {
    const { executionId } = (await (await t.call('POST', '/v1/functions/forever/invoke?async=1', {})).json()) as {
      executionId: string;
    };
    await eventually(async () => {
      const r = (await (await t.call('GET', `/v1/executions/${executionId}`)).json()) as { status: string };
      return r.status === 'running' ? r : undefined;
    });

    const full = await t.call('POST', '/v1/functions/quick/invoke', {});
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('2');
    expect((await errorOf(full)).code).toBe('capacity_exhausted');
    const fullAsync = await t.call('POST', '/v1/functions/quick/invoke?async=1', {});
    expect(fullAsync.status).toBe(503);

    const cancelled = await t.call('POST', `/v1/executions/${executionId}/cancel`);
    expect(((await cancelled.json()) as { status: string }).status).toBe('killed');
    const ok = await eventually(async () => {
      const r = await t.call('POST', '/v1/functions/quick/invoke', {});
      const rec = r.status === 200 ? ((await r.json()) as { status: string; result: unknown }) : undefined;
      return rec?.status === 'succeeded' ? rec : undefined;
    });
    expect(ok.result).toBe('done');
  });
});
