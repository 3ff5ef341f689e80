/**
 * Issue 16 through HTTP, each reproduced first: a truncated multipart body (was 500), a result
 * nested 100,000 deep from a real tier (was 500 and `queued` forever), a 50 MiB error message
 * (was stored whole), network permissions beyond the node's cap and a tier's own refusal at
 * prepare (403 with the reason), 405 for a known path, and the event-loop delay in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../../src/core/errors.ts';
import { FakeDriver } from '../executor/fake-driver.ts';
import { processTierRequirement } from '../sandboxes/process/support.ts';
import { expectNoLoopBlock } from '../support/event-loop.ts';
import { describeIf } from '../support/requirements.ts';
import { fakeGateway } from './fake-gateway.ts';
import { errorOf, eventually, jsFunction, startTestWorker, type TestWorker } from './support.ts';

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
});
afterAll(async () => {
  await t?.close();
});

type Rec = { id: string; status: string; error?: { code: string; message: string }; death?: { cause: string } };

/** A multipart body by hand, so it can be cut anywhere. */
function multipart(boundary: string, parts: [name: string, value: string, filename?: string][]): string {
  return `${parts
    .map(
      ([name, value, filename]) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n\r\n${value}\r\n`,
    )
    .join('')}--${boundary}--\r\n`;
}

describe('multipart bodies a client got wrong answer 400, never 500', () => {
  const manifest = JSON.stringify({ name: 'mp', runtime: 'wasm', trust: 'untrusted', entry: 'add' });
  const body = multipart('XyZ', [
    ['manifest', manifest],
    ['module', '\0asm\x01\0\0\0', 'm.wasm'],
  ]);
  const send = (text: string, type = 'multipart/form-data; boundary=XyZ') =>
    t.worker.app.request('/v1/functions', { method: 'POST', headers: { 'content-type': type }, body: text });

  it.each([
    ['truncated in the middle', body.slice(0, Math.floor(body.length / 2))],
    ['truncated before the closing boundary', body.slice(0, body.length - 8)],
    ['cut inside the part headers', body.slice(0, 40)],
    ['garbage', 'this is not multipart at all'],
    ['empty', ''],
  ])('%s', async (_label, text) => {
    const res = await send(text);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_request');
  });

  it('without a boundary, or with one the body does not use', async () => {
    for (const type of [
      'multipart/form-data',
      'multipart/form-data; boundary=other',
      'MULTIPART/FORM-DATA; boundary=',
    ]) {
      const res = await send(body, type);
      expect(res.status, type).toBe(400);
      expect((await errorOf(res)).code).toBe('invalid_request');
    }
  });
});

describe('errors are bounded (limits.errorBytes, 16 KiB)', () => {
  it('a 50 MiB thrown string comes back as at most 16 KiB with a marker', async () => {
    const deploy = await t.call(
      'POST',
      '/v1/functions',
      jsFunction('huge-throw', 'export default () => { throw "E".repeat(50 * 2 ** 20); }', {
        limits: { memoryMb: 512 },
      }),
    );
    expect(deploy.status).toBe(201);
    const res = await t.call('POST', '/v1/functions/huge-throw/invoke', {});
    expect(res.status).toBe(200);
    const rec = (await res.json()) as Rec;
    expect(rec.status).toBe('failed');
    expect(Buffer.byteLength(rec.error?.message ?? '')).toBeLessThanOrEqual(16 * 1024);
    // The isolate cuts inside the sandbox (in characters) before the text ever crosses to the worker.
    expect(rec.error?.message).toMatch(/…\[\d+ (bytes|characters) of error message cut\]…/);
    expect(rec.death).toMatchObject({ cause: 'error' });
  });
});

describe('permissions', () => {
  it('refuses at deploy what the node caps for the trust level: 403 permission_denied naming it', async () => {
    const res = await t.call(
      'POST',
      '/v1/functions',
      jsFunction('wants-net', 'export default () => 1', { trust: 'standard', permissions: { network: true } }),
    );
    expect(res.status).toBe(403);
    const error = await errorOf(res);
    expect(error.code).toBe('permission_denied');
    expect(error.message).toMatch(/permissions\.network/);
    expect((await t.call('GET', '/v1/functions/wants-net')).status).toBe(404);
  });

  it('passes a tier refusal at prepare to the client as 403 with the tier reason', async () => {
    const driver = new FakeDriver('isolate', { network: 'allowlist' });
    driver.prepareError = new StrataError(
      'permission_denied',
      'the isolate tier cannot enforce allow-list entry 10.0.0.0/8 here',
    );
    const gw = fakeGateway([driver]);
    try {
      const res = await gw.app.request('/v1/functions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          jsFunction('net', 'export default () => 1', { permissions: { network: { allow: ['10.0.0.0/8'] } } }),
        ),
      });
      expect(res.status).toBe(403);
      expect(await errorOf(res)).toEqual({
        code: 'permission_denied',
        message: 'the isolate tier cannot enforce allow-list entry 10.0.0.0/8 here',
      });
    } finally {
      await gw.close();
    }
  });
});

describe('the gateway', () => {
  it('answers 405 with Allow for a known path asked with another method', async () => {
    const res = await t.call('PATCH', '/v1/functions');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    expect((await errorOf(res)).code).toBe('method_not_allowed');
    const invoke = await t.call('GET', '/v1/functions/echo/invoke');
    expect(invoke.status).toBe(405);
    expect(invoke.headers.get('allow')).toBe('POST');
    expect((await t.call('GET', '/v1/nothing')).status).toBe(404);
  });

  it('exposes strata_event_loop_delay_seconds in /metrics', async () => {
    await new Promise((r) => setTimeout(r, 30));
    const text = await (await t.call('GET', '/metrics')).text();
    expect(text).toMatch(/^# TYPE strata_event_loop_delay_seconds summary$/m);
    expect(text).toMatch(/^strata_event_loop_delay_seconds\{quantile="0\.99"\} [\d.e+-]+$/m);
    expect(text).toMatch(/^strata_event_loop_delay_seconds_count \d+$/m);
  });

  it('deploys and invokes without blocking the event loop for more than 100 ms', async () => {
    await expectNoLoopBlock(
      () => t.call('POST', '/v1/functions', jsFunction('loop-ok', 'export default (x) => ({ x })')),
      100,
      'deploy',
    );
    const res = await expectNoLoopBlock(() => t.call('POST', '/v1/functions/loop-ok/invoke', { a: 1 }), 100, 'invoke');
    expect(res.status).toBe(200);
  });
});

describeIf(processTierRequirement(), 'a result from a real tier that cannot be serialised (process tier)', () => {
  const deep = 'head -c 100000 /dev/zero | tr "\\0" "["; head -c 100000 /dev/zero | tr "\\0" "]"';

  it('answers 200 with failed/result_not_serializable, stored final; async ends failed, not queued', async () => {
    const deploy = await t.call('POST', '/v1/functions', {
      name: 'deep-brackets',
      runtime: 'script',
      interpreter: 'sh',
      trust: 'trusted',
      source: deep,
    });
    expect(deploy.status).toBe(201);
    const res = await t.call('POST', '/v1/functions/deep-brackets/invoke', {});
    expect(res.status).toBe(200);
    const rec = (await res.json()) as Rec;
    expect(rec).toMatchObject({
      status: 'failed',
      error: { code: 'result_not_serializable' },
      death: { cause: 'result' },
    });
    const stored = (await (await t.call('GET', `/v1/executions/${rec.id}`)).json()) as Rec;
    expect(stored.status).toBe('failed');

    const accepted = await t.call('POST', '/v1/functions/deep-brackets/invoke?async=1', {});
    expect(accepted.status).toBe(202);
    const { executionId } = (await accepted.json()) as { executionId: string };
    const final = await eventually(async () => {
      const r = (await (await t.call('GET', `/v1/executions/${executionId}`)).json()) as Rec;
      return r.status === 'queued' || r.status === 'running' ? undefined : r;
    });
    expect(final).toMatchObject({ status: 'failed', error: { code: 'result_not_serializable' } });
  });
});
