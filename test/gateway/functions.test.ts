/** The function catalogue routes, health, request ids and the error shape (in-process, one worker). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, jsFunction, startTestWorker, type TestWorker } from './support.ts';

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
});
afterAll(async () => {
  await t?.close();
});

const HELLO = 'export default (input) => ({ hello: input?.name ?? "world" })';

describe('GET /healthz', () => {
  it('answers 200 {"status":"ok"} with executor details', async () => {
    const res = await t.call('GET', '/healthz');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.status).toBe('ok');
    expect(body.executor).toMatchObject({ running: 0, queued: 0 });
  });
});

describe('POST /v1/functions (JSON)', () => {
  it('deploys version 1 with 201 and name, version, digest, tier', async () => {
    const res = await t.call('POST', '/v1/functions', jsFunction('hello', HELLO));
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'hello', version: 1, tier: 'isolate', runtime: 'js', created: true });
    expect(body.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(body).not.toHaveProperty('source');
  });

  it('returns the same version for an identical resubmission (200, created:false)', async () => {
    const first = (await (await t.call('POST', '/v1/functions', jsFunction('same', HELLO))).json()) as Record<
      string,
      unknown
    >;
    const res = await t.call('POST', '/v1/functions', jsFunction('same', HELLO));
    expect(res.status).toBe(200);
    const again = (await res.json()) as Record<string, unknown>;
    expect(again).toMatchObject({ version: first.version, digest: first.digest, created: false });
  });

  it('makes version 2 when the source changes, and version 3 when only the limits change', async () => {
    await t.call('POST', '/v1/functions', jsFunction('changing', HELLO));
    const v2 = await t.call('POST', '/v1/functions', jsFunction('changing', `${HELLO};\n// edited`));
    expect(v2.status).toBe(201);
    const two = (await v2.json()) as Record<string, unknown>;
    expect(two.version).toBe(2);
    const v3 = await t.call(
      'POST',
      '/v1/functions',
      jsFunction('changing', `${HELLO};\n// edited`, { limits: { timeoutMs: 1500 } }),
    );
    expect(v3.status).toBe(201);
    const three = (await v3.json()) as Record<string, unknown>;
    expect(three.version).toBe(3);
    expect(three.digest).not.toBe(two.digest);
  });

  it('refuses a syntax error at deploy with 400 invalid_code and stores nothing', async () => {
    const res = await t.call('POST', '/v1/functions', jsFunction('broken', 'export default function ( {'));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_code');
    expect((await t.call('GET', '/v1/functions/broken')).status).toBe(404);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await t.call('POST', '/v1/functions', '{"name": "x",');
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/JSON/);
  });

  it.each([
    ['a bad name', jsFunction('Bad_Name', HELLO), 'name'],
    ['a missing source', { name: 'nosource', runtime: 'js', trust: 'trusted' }, 'source'],
    ['a malformed runtime', { name: 'cobol', runtime: 'COBOL!', source: 'x' }, 'runtime'],
    ['a bad limit', jsFunction('badlimit', HELLO, { limits: { memoryMb: -5 } }), 'limits.memoryMb'],
    ['an unknown limit', jsFunction('unknownlimit', HELLO, { limits: { gigaflops: 3 } }), 'limits'],
    ['a non-integer timeout', jsFunction('badtimeout', HELLO, { limits: { timeoutMs: 'soon' } }), 'limits.timeoutMs'],
  ])('answers 400 naming the field for %s', async (_label, manifest, field) => {
    const res = await t.call('POST', '/v1/functions', manifest);
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_manifest');
    expect(error.message).toContain(`${field}:`);
  });

  it('answers 400 unsupported_runtime for a runtime no tier (built-in or plugin) runs', async () => {
    const res = await t.call('POST', '/v1/functions', { name: 'cobol', runtime: 'cobol', source: 'x' });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('unsupported_runtime');
    expect(error.message).toContain('cobol');
  });
});

describe('the catalogue', () => {
  it('lists, gets (with versions and source) and deletes a function', async () => {
    await t.call('POST', '/v1/functions', jsFunction('catalogued', HELLO));
    await t.call('POST', '/v1/functions', jsFunction('catalogued', `${HELLO} // v2`));

    const list = (await (await t.call('GET', '/v1/functions')).json()) as { functions: Record<string, unknown>[] };
    const entry = list.functions.find((f) => f.name === 'catalogued');
    expect(entry).toMatchObject({ name: 'catalogued', version: 2, tier: 'isolate' });

    const got = await t.call('GET', '/v1/functions/catalogued');
    expect(got.status).toBe(200);
    const fn = (await got.json()) as Record<string, unknown>;
    expect(fn).toMatchObject({ name: 'catalogued', version: 2, versions: [1, 2], source: `${HELLO} // v2` });

    const v1 = (await (await t.call('GET', '/v1/functions/catalogued?version=1')).json()) as Record<string, unknown>;
    expect(v1).toMatchObject({ version: 1, source: HELLO });
    expect((await t.call('GET', '/v1/functions/catalogued?version=zero')).status).toBe(400);

    const del = await t.call('DELETE', '/v1/functions/catalogued');
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ name: 'catalogued', deleted: [1, 2] });

    const gone = await t.call('GET', '/v1/functions/catalogued');
    expect(gone.status).toBe(404);
    expect((await errorOf(gone)).code).toBe('not_found');
    const invoke = await t.call('POST', '/v1/functions/catalogued/invoke', {});
    expect(invoke.status).toBe(404);
    expect((await errorOf(invoke)).code).toBe('not_found');
    const listed = (await (await t.call('GET', '/v1/functions')).json()) as { functions: { name: string }[] };
    expect(listed.functions.map((f) => f.name)).not.toContain('catalogued');
    expect((await t.call('DELETE', '/v1/functions/catalogued')).status).toBe(404);
  });

  it('answers 404 with the error shape for an unknown function and an unknown route', async () => {
    for (const [method, path] of [
      ['GET', '/v1/functions/nobody'],
      ['POST', '/v1/functions/nobody/invoke'],
      ['GET', '/v1/executions/no-such-id'],
      ['GET', '/v1/nothing-here'],
    ] as const) {
      const res = await t.call(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await errorOf(res)).code).toBe('not_found');
    }
  });
});

describe('request ids', () => {
  it('puts an X-Request-Id on every response, success or error', async () => {
    const responses = await Promise.all([
      t.call('GET', '/healthz'),
      t.call('GET', '/metrics'),
      t.call('GET', '/v1/functions'),
      t.call('GET', '/v1/functions/nobody'),
      t.call('POST', '/v1/functions', 'not json'),
      t.call('GET', '/nowhere'),
    ]);
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('echoes a sane client id and replaces an unsafe one', async () => {
    const sane = await t.call('GET', '/healthz', undefined, { 'x-request-id': 'client-42.a:b' });
    expect(sane.headers.get('x-request-id')).toBe('client-42.a:b');
    const unsafe = await t.call('GET', '/v1/functions/nobody', undefined, { 'x-request-id': 'bad id <script>' });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const long = await t.call('GET', '/healthz', undefined, { 'x-request-id': 'a'.repeat(129) });
    expect(long.headers.get('x-request-id')).not.toBe('a'.repeat(129));
  });
});
