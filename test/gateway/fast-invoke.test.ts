/**
 * The raw invoke fast path (src/gateway/fast-invoke.ts) answers exactly as the Hono app does:
 * the same requests go over loopback HTTP to two servers of one worker — one whose listener is
 * the gateway's (fast path first), one that sends everything to Hono — and status, error code,
 * message, headers that matter and the record's shape are compared. A counter proves which
 * requests the fast path took (and which it left to Hono).
 */
import { createServer, type RequestListener, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastInvoke, gatewayListener } from '../../src/gateway/fast-invoke.ts';
import { jsFunction, startTestWorker, type TestWorker } from './support.ts';

const ADMIN = 'fast-path-admin-token';
const LIMIT = 4096;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let t: TestWorker;
let fastServed = 0;
let fastUrl: string;
let honoUrl: string;
const servers: Server[] = [];
let acmeKey: string;
let readOnlyKey: string;

async function listen(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One request over a fresh connection; `chunked` sends the body without a Content-Length. */
function send(
  base: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string> = {},
  chunked = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // host/port/path, not a URL: a URL would be normalised (dot segments) before it is sent.
    const { hostname, port } = new URL(base);
    const req = request({ hostname, port, path, method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined && !chunked) req.setHeader('content-length', Buffer.byteLength(body));
    if (body !== undefined) {
      // Two writes: a chunked body really streams.
      const half = Math.floor(body.length / 2);
      req.write(body.slice(0, half));
      req.end(body.slice(half));
    } else req.end();
  });
}

const json = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ ...json, authorization: `Bearer ${token}` });

/** Send the same request both ways; assert the fast path took it; return both answers. */
async function both(
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
  chunked = false,
): Promise<[Answer, Answer]> {
  const before = fastServed;
  const fast = await send(fastUrl, path, body, headers, chunked);
  expect(fastServed, 'the fast path served it').toBe(before + 1);
  const hono = await send(honoUrl, path, body, headers, chunked);
  expect(fastServed).toBe(before + 1);
  return [fast, hono];
}

/** What must be equal: status, content type, the request id's presence, Retry-After's presence, the body's shape. */
function expectSame(fast: Answer, hono: Answer): unknown {
  expect(fast.status).toBe(hono.status);
  expect(fast.headers['content-type']).toBe(hono.headers['content-type']);
  expect(fast.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(hono.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(fast.headers['retry-after'] === undefined).toBe(hono.headers['retry-after'] === undefined);
  expect(Number(fast.headers['content-length'])).toBe(Buffer.byteLength(fast.body));
  const a = JSON.parse(fast.body) as Record<string, unknown>;
  const b = JSON.parse(hono.body) as Record<string, unknown>;
  if (a.id === undefined || b.id === undefined) {
    // The one error shape, the same code, the same words, the same details (a wait is a moment later).
    const [ea, eb] = [a.error, b.error] as { code: string; message: string; details?: Record<string, unknown> }[];
    expect(Object.keys(a)).toEqual(['error']);
    expect(Object.keys(b)).toEqual(['error']);
    expect(ea?.code).toBe(eb?.code);
    expect(ea?.message).toBe(eb?.message);
    const { retryAfterMs: wa, ...da } = ea?.details ?? {};
    const { retryAfterMs: wb, ...db } = eb?.details ?? {};
    expect(da).toEqual(db);
    expect(wa === undefined).toBe(wb === undefined);
    return ea;
  }
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  expect(a.status).toBe(b.status);
  expect(a.result).toEqual(b.result);
  expect(a.function).toEqual(b.function);
  expect(a.tier).toBe(b.tier);
  return a;
}

beforeAll(async () => {
  t = await startTestWorker({ 'tenants.adminToken': ADMIN, bodyLimit: LIMIT });
  const { worker } = t;
  const fast = fastInvoke({
    registry: worker.registry,
    executor: worker.executor,
    tenants: worker.tenants,
    logger: worker.logger,
    bodyLimitBytes: worker.config.bodyLimit,
  });
  fastUrl = await listen(
    gatewayListener(worker.app.fetch, (req, res) => {
      const served = fast(req, res);
      if (served) fastServed++;
      return served;
    }),
  );
  honoUrl = await listen(gatewayListener(worker.app.fetch, () => false));
  const admin = async (method: string, path: string, body: unknown) => {
    const res = await t.call(method, path, body, { authorization: `Bearer ${ADMIN}` });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await admin('POST', '/v1/functions', jsFunction('add', 'export default (input) => ({ doubled: input.n * 2 })'));
  acmeKey = (await admin('POST', '/v1/keys', { tenant: 'acme', scopes: ['functions:write', 'invoke'] })).key as string;
  readOnlyKey = (await admin('POST', '/v1/keys', { tenant: 'acme', scopes: ['functions:read'] })).key as string;
  const res = await t.call('POST', '/v1/functions', jsFunction('limited', 'export default () => 1'), {
    authorization: `Bearer ${acmeKey}`,
  });
  expect(res.status).toBe(201);
  // One invocation per 1000 s: after the first, every call is over the rate.
  await admin('PUT', '/v1/tenants/acme/quota', { rate: 0.001, burst: 1 });
}, 60_000);

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await t?.close();
});

describe('the invoke fast path answers as the Hono app does', () => {
  it('success: 200 with the execution record, saved before the answer', async () => {
    const [fast, hono] = await both('/v1/functions/add/invoke', '{"n":21}', bearer(ADMIN));
    const rec = expectSame(fast, hono) as { id: string; status: string; result: unknown };
    expect(rec.status).toBe('succeeded');
    expect(rec.result).toEqual({ doubled: 42 });
    // Durable before the caller heard: the store has it as soon as the answer arrived.
    expect(t.worker.records.get(rec.id)?.status).toBe('succeeded');
  });

  it('keeps a sane client request id and replaces a bad one', async () => {
    const [fast, hono] = await both('/v1/functions/add/invoke', '{"n":1}', {
      ...bearer(ADMIN),
      'x-request-id': 'abc-1',
    });
    expectSame(fast, hono);
    expect(fast.headers['x-request-id']).toBe('abc-1');
    expect(hono.headers['x-request-id']).toBe('abc-1');
    const [bad] = await both('/v1/functions/add/invoke', '{"n":1}', { ...bearer(ADMIN), 'x-request-id': 'a b' });
    expect(bad.headers['x-request-id']).not.toBe('a b');
  });

  it('an empty body is a null input, like Hono', async () => {
    const [fast, hono] = await both('/v1/functions/add/invoke', '', bearer(ADMIN));
    const rec = expectSame(fast, hono) as { status: string };
    expect(rec.status).toBe('failed');
  });

  it('a BOM before the JSON is dropped, as fetch does', async () => {
    const [fast, hono] = await both('/v1/functions/add/invoke', '\ufeff{"n":2}', bearer(ADMIN));
    expect((expectSame(fast, hono) as { result: unknown }).result).toEqual({ doubled: 4 });
  });

  it('unknown function: 404 not_found', async () => {
    const [fast, hono] = await both('/v1/functions/nope/invoke', '{"n":1}', bearer(ADMIN));
    expect(expectSame(fast, hono)).toMatchObject({ code: 'not_found' });
    expect(fast.status).toBe(404);
  });

  it("another tenant's function: 404 like a missing one", async () => {
    const [fast, hono] = await both('/v1/functions/add/invoke', '{"n":1}', bearer(acmeKey));
    expect(expectSame(fast, hono)).toMatchObject({ code: 'not_found' });
  });

  it('bad JSON: 400 invalid_request', async () => {
    const [fast, hono] = await both('/v1/functions/add/invoke', '{"n":', bearer(ADMIN));
    expect(expectSame(fast, hono)).toMatchObject({ code: 'invalid_request' });
    expect(fast.status).toBe(400);
  });

  it('too deep input: 400 before parsing', async () => {
    const deep = `${'['.repeat(1001)}${']'.repeat(1001)}`;
    const [fast, hono] = await both('/v1/functions/add/invoke', deep, bearer(ADMIN));
    expect(expectSame(fast, hono)).toMatchObject({ code: 'invalid_request' });
  });

  it('an unknown function with a bad body: 404 first, as on Hono', async () => {
    const [fast, hono] = await both('/v1/functions/nope/invoke', '{"n":', bearer(ADMIN));
    expect(expectSame(fast, hono)).toMatchObject({ code: 'not_found' });
  });

  it('no token while keys exist: 401 unauthorized, audited both ways', async () => {
    const denied = () => t.worker.tenants.audit.query({ limit: 1000 }).items.filter((e) => e.result === 'denied');
    const before = denied().length;
    const [fast, hono] = await both('/v1/functions/add/invoke', '{"n":1}', json);
    expect(expectSame(fast, hono)).toMatchObject({ code: 'unauthorized' });
    expect(fast.status).toBe(401);
    expect(denied().length).toBe(before + 2);
  });

  it('a wrong token: 401; a key without the invoke scope: 403 forbidden', async () => {
    const [fast, hono] = await both('/v1/functions/add/invoke', '{"n":1}', bearer('not-a-key'));
    expect(expectSame(fast, hono)).toMatchObject({ code: 'unauthorized' });
    const [fast2, hono2] = await both('/v1/functions/limited/invoke', '{}', bearer(readOnlyKey));
    expect(expectSame(fast2, hono2)).toMatchObject({ code: 'forbidden' });
    expect(fast2.status).toBe(403);
  });

  it('over the tenant rate: 429 rate_limited with Retry-After', async () => {
    // The first call of the bucket may pass (whichever test ran first); every later one is over.
    await send(fastUrl, '/v1/functions/limited/invoke', '{}', bearer(acmeKey));
    const [fast, hono] = await both('/v1/functions/limited/invoke', '{}', bearer(acmeKey));
    expect(expectSame(fast, hono)).toMatchObject({ code: 'rate_limited' });
    expect(fast.status).toBe(429);
    expect(Number(fast.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a body over the limit: 413, by Content-Length and while streaming', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(LIMIT) });
    const [fast, hono] = await both('/v1/functions/add/invoke', big, bearer(ADMIN));
    expect(expectSame(fast, hono)).toMatchObject({ code: 'payload_too_large' });
    expect(fast.status).toBe(413);
    const [fast2, hono2] = await both('/v1/functions/add/invoke', big, bearer(ADMIN), true);
    expect(expectSame(fast2, hono2)).toMatchObject({ code: 'payload_too_large' });
    // Over the limit and an unknown function: the limit answers first (it is middleware on Hono).
    const [fast3, hono3] = await both('/v1/functions/nope/invoke', big, bearer(ADMIN), true);
    expect(expectSame(fast3, hono3)).toMatchObject({ code: 'payload_too_large' });
  });

  it('leaves every other variant to Hono', async () => {
    const before = fastServed;
    const asyncAnswer = await send(fastUrl, '/v1/functions/add/invoke?async=1', '{"n":1}', bearer(ADMIN));
    expect(asyncAnswer.status).toBe(202);
    const versioned = await send(fastUrl, '/v1/functions/add/invoke?version=1', '{"n":1}', bearer(ADMIN));
    expect(versioned.status).toBe(200);
    const form = await send(fastUrl, '/v1/functions/add/invoke', '--x--', {
      ...bearer(ADMIN),
      'content-type': 'multipart/form-data; boundary=x',
    });
    expect(form.status).toBe(400);
    const dotted = await send(fastUrl, '/v1/functions/../functions/add/invoke', '{"n":1}', bearer(ADMIN));
    expect(dotted.status).toBe(200);
    const escaped = await send(fastUrl, '/v1/functions/%61dd/invoke', '{"n":1}', bearer(ADMIN));
    expect(escaped.status).toBe(200);
    const health = await new Promise<number>((resolve, reject) => {
      request(`${fastUrl}/healthz`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(health).toBe(200);
    expect(fastServed).toBe(before);
  });
});
