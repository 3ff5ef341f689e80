/**
 * No client input may produce a 5xx (issue 16 item 9). Every route of a real worker is driven
 * in-process (app.request) with malformed JSON, truncated and garbled multipart, odd headers
 * (content types, content-length lies, huge values), odd paths and methods; every answer must be
 * below 500 and, when it is an error, have the one error shape. A fixed corpus first, then
 * seeded random mutations (STRATA_FUZZ_SEED, STRATA_FUZZ_N to vary them); every failure is
 * listed at the end with what was sent, so one run shows all of them. Each case is also timed
 * for how long it held the event loop (test/support/event-loop.ts): a single request, not the
 * whole run, since in-process requests chain as microtasks and never yield to timers between them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchEventLoop } from '../support/event-loop.ts';
import { jsFunction, startTestWorker, type TestWorker } from './support.ts';

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
  for (const [name, source] of [
    ['echo', 'export default (input) => ({ echo: input })'],
    ['thrower', 'export default () => { throw new Error("no") }'],
  ] as const) {
    const res = await t.call('POST', '/v1/functions', jsFunction(name, source));
    if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
  }
});
afterAll(async () => {
  await t?.close();
});

interface Case {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}

const ROUTES: [method: string, path: string][] = [
  ['GET', '/healthz'],
  ['GET', '/metrics'],
  ['GET', '/v1/functions'],
  ['POST', '/v1/functions'],
  ['GET', '/v1/functions/echo'],
  ['DELETE', '/v1/functions/{name}'],
  ['POST', '/v1/functions/echo/invoke'],
  ['POST', '/v1/functions/thrower/invoke'],
  ['PUT', '/v1/functions/{name}/module'],
  ['GET', '/v1/executions/{id}'],
  ['POST', '/v1/executions/{id}/cancel'],
  ['GET', '/v1/executions/{id}/usage'],
];

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'X-CUSTOM'];

const SEGMENTS = [
  'nobody',
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%00',
  '%2F..%2F..%2Fetc%2Fpasswd',
  '..',
  '.',
  'UPPER',
  'ünïcödé',
  '%F0%9F%92%A9',
  'a'.repeat(5000),
  "x'%20OR%201=1--",
  '__proto__',
  'constructor',
  '',
  '-',
  ';',
  '%3Cscript%3E',
];

const QUERIES = [
  '',
  '?version=%ZZ',
  '?version=1e400',
  '?version=-1',
  '?version=99999999999999999999',
  '?version=1&version=2',
  '?version=',
  '?async=%',
  '?async=1&async=0',
  '?async=1',
  '?%=%',
  '?&&&',
  `?q=${'x'.repeat(20_000)}`,
  '?dryRun=1',
  '?entry=%00&trust=bogus&timeoutMs=-5&memoryMb=1e9&fuel=abc',
  '?trust=untrusted&tmp=1',
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'text/plain',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=XyZ',
  'multipart/form-data; boundary="XyZ"',
  'multipart/form-data; boundary=nope',
  'application/x-www-form-urlencoded',
  'application/wasm',
  'application/octet-stream',
  ';;;',
  `multipart/form-data; boundary=${'b'.repeat(5000)}`,
  `application/json; ${'p=v;'.repeat(2000)}`,
];

const JSON_BODIES = [
  '',
  ' ',
  'null',
  '{',
  '{"name":',
  '{"a":1,}',
  '[1,2',
  '"unterminated',
  '1e999999',
  '-0',
  'NaN',
  'undefined',
  '\uFEFF{}',
  '"\\ud800"',
  '{"\\u0000":"\\u0000"}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '[]',
  '"a string"',
  '12345678901234567890123456789012345678901234567890',
  `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`,
  `${'['.repeat(100_000)}`,
  `"${'x'.repeat(1_000_000)}"`,
  '\x00\x01\x02\xff\xfe',
  'true',
];

/** Manifests that parse as JSON but are wrong in every way a field can be. */
function manifestBody(r: ReturnType<typeof prng>): string {
  const base: Record<string, unknown> = {
    name: r.pick(['fz-ok', 'Bad Name', '', 'a'.repeat(100), 5, null, '-x', 'fz-ok-2']),
    runtime: r.pick(['js', 'wasm', 'script', 'container', 'http', 'cobol', 7, null]),
    trust: r.pick(['trusted', 'standard', 'untrusted', 'root', 1]),
    source: r.pick(['export default () => 1', 'export default ( {', 42, '', undefined, 'x'.repeat(10_000)]),
  };
  const extras: Record<string, unknown>[] = [
    { limits: { timeoutMs: r.pick([-1, 0, 1.5, '5s', 1e308, Number.MAX_SAFE_INTEGER, null]) } },
    { limits: { memoryMb: r.pick([1, 7, 8, 1e12, 'big', -8]) } },
    { limits: { cpuset: r.pick(['0-1', 'all', '99999-0', ''.padEnd(1000, ',')]) } },
    { limits: r.pick([[], 'none', null, { unknown: 1 }]) },
    {
      permissions: {
        network: r.pick([
          true,
          false,
          [],
          ['api.example.com'],
          { allow: ['10.0.0.0/8'] },
          { allow: 'x' },
          'yes',
          [1],
          { allow: ['a b'] },
        ]),
      },
    },
    { permissions: { env: r.pick([{ PATH: '/evil' }, { 'bad name': 'x' }, [], { A: 1 }]) } },
    { permissions: r.pick([null, 'all', []]) },
    { interpreter: r.pick(['bash', 'sh', 'python3', 'cmd.exe', 5]) },
    { image: r.pick(['alpine', '', 3]) },
    { url: r.pick(['http://127.0.0.1:1/', 'notaurl', 'file:///etc/passwd', 5]) },
    { priority: r.pick([-1, 1001, 1.5, 'high']) },
    { labels: r.pick([{ a: 'b' }, { a: 1 }, 'x']) },
    { extra: 'field' },
    { signature: { keyId: 'k', sig: '!!' } },
    {},
  ];
  return JSON.stringify({ ...base, ...r.pick(extras), ...r.pick(extras) });
}

function multipartBody(r: ReturnType<typeof prng>, boundary: string): string {
  const parts: string[] = [];
  const count = r.pick([0, 1, 2, 3, 500]);
  for (let i = 0; i < count; i++) {
    const name = r.pick(['manifest', 'module', 'signature', 'other', '', 'manifest"; x="y', 'a'.repeat(2000)]);
    const filename = r.next() < 0.3 ? `; filename="${r.pick(['m.wasm', '', '../../x', '\u0000'])}"` : '';
    const value = r.pick([
      '{"name":"mp-fz","runtime":"wasm","trust":"untrusted","entry":"add"}',
      '{not json',
      '\0asm\x01\0\0\0',
      '',
      'x'.repeat(10_000),
      manifestBody(r),
    ]);
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename}\r\n\r\n${value}\r\n`);
  }
  const body = `${parts.join('')}--${boundary}--\r\n`;
  // Truncate, garble or keep.
  const mode = r.int(4);
  if (mode === 0) return body.slice(0, r.int(body.length + 1));
  if (mode === 1) return body.replaceAll('\r\n', r.pick(['\n', '\r', '']));
  if (mode === 2) return body.replaceAll(`--${boundary}`, `--${r.pick(['other', boundary.slice(1), ''])}`);
  return body;
}

function wasmBytes(r: ReturnType<typeof prng>): Uint8Array {
  const choices = [
    new Uint8Array(0),
    new Uint8Array([0, 0x61, 0x73, 0x6d]),
    new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
    new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]),
    new TextEncoder().encode('not wasm'),
    Uint8Array.from({ length: 4096 }, () => r.int(256)),
  ];
  return r.pick(choices);
}

function headerNoise(r: ReturnType<typeof prng>, body: string | Uint8Array | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const length = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (r.next() < 0.3)
    headers['content-length'] = String(r.pick([0, 1, length + 100, Math.max(0, length - 1), 10 * 1024 ** 3]));
  if (r.next() < 0.15) headers['x-request-id'] = r.pick(['x'.repeat(60_000), 'bad id', '\u00ff', '']);
  if (r.next() < 0.15)
    headers.authorization = r.pick(['Bearer ', `Bearer ${'t'.repeat(60_000)}`, 'Basic x', 'garbage']);
  if (r.next() < 0.15)
    headers['x-strata-manifest'] = r.pick(['{', '[]', '"x"', '{"limits":{"fuel":-1}}', 'x'.repeat(60_000), 'null']);
  if (r.next() < 0.1) headers['transfer-encoding'] = r.pick(['chunked', 'gzip', 'bogus']);
  if (r.next() < 0.1) headers['content-encoding'] = r.pick(['gzip', 'br', 'identity', 'x']);
  if (r.next() < 0.1) headers.accept = r.pick(['text/event-stream', '*/*;q=abc', '']);
  if (r.next() < 0.05) headers[`x-${'h'.repeat(200)}`] = 'v'.repeat(8000);
  return headers;
}

function fill(path: string, r: ReturnType<typeof prng>): string {
  return path
    .replace('{name}', () => r.pick(['echo-gone', 'nobody', ...SEGMENTS]))
    .replace('{id}', () => r.pick(['nope', ...SEGMENTS]));
}

/** Hand-written cases: every route with the classic bad inputs. */
function corpus(): Case[] {
  const r = prng(1);
  const cases: Case[] = [];
  for (const [method, path] of ROUTES) {
    for (const body of JSON_BODIES) {
      cases.push({ method, path: fill(path, r), headers: { 'content-type': 'application/json' }, body });
    }
    for (const type of CONTENT_TYPES)
      cases.push({ method, path: fill(path, r), headers: { 'content-type': type }, body: '{}' });
    for (const segment of SEGMENTS)
      cases.push({ method, path: path.replace('{name}', segment).replace('{id}', segment).replace('echo', segment) });
    for (const query of QUERIES) cases.push({ method, path: `${fill(path, r)}${query}` });
  }
  for (const method of METHODS) for (const [, path] of ROUTES) cases.push({ method, path: fill(path, r) });
  for (const path of [
    '/',
    '//',
    '/v1',
    '/v1/',
    '/v1//functions',
    '/v1/functions/',
    '/v1/functions//invoke',
    '/v1/functions/echo/invoke/',
    '/healthz/',
    '/%',
    '/v1/%ZZ/x',
    `/${'a/'.repeat(2000)}`,
  ]) {
    for (const method of ['GET', 'POST', 'DELETE']) cases.push({ method, path });
  }
  return cases;
}

function randomCase(r: ReturnType<typeof prng>): Case {
  const [routeMethod, routePath] = r.pick(ROUTES);
  const method = r.next() < 0.8 ? routeMethod : r.pick(METHODS);
  const path = `${fill(routePath, r)}${r.next() < 0.3 ? r.pick(QUERIES) : ''}`;
  const kind = r.int(4);
  let body: string | Uint8Array | undefined;
  let contentType: string;
  if (kind === 0) {
    const boundary = r.pick(['XyZ', 'b'.repeat(70), '----x']);
    body = multipartBody(r, boundary);
    contentType = r.next() < 0.8 ? `multipart/form-data; boundary=${boundary}` : r.pick(CONTENT_TYPES);
  } else if (kind === 1) {
    body = wasmBytes(r);
    contentType = r.pick(['application/wasm', 'application/octet-stream', ...CONTENT_TYPES]);
  } else if (kind === 2) {
    body = manifestBody(r);
    contentType = r.pick(CONTENT_TYPES);
  } else {
    const text = r.pick(JSON_BODIES);
    body = r.next() < 0.5 ? text.slice(0, r.int(text.length + 1)) : text;
    contentType = r.pick(CONTENT_TYPES);
  }
  return { method, path, headers: { 'content-type': contentType, ...headerNoise(r, body) }, body };
}

const describeCase = (c: Case) => {
  const body = c.body === undefined ? '' : typeof c.body === 'string' ? c.body : `<${c.body.length} bytes>`;
  const headers = JSON.stringify(c.headers ?? {});
  return `${c.method} ${c.path.slice(0, 120)} headers=${headers.slice(0, 160)} body=${JSON.stringify(body.slice(0, 120))}${body.length > 120 ? `…(${body.length})` : ''}`;
};

/** The request as an HTTP client would send it, or undefined for one no HTTP layer could deliver. */
function requestOf(c: Case): Request | undefined {
  try {
    const bodyless = c.method === 'GET' || c.method === 'HEAD';
    const withBody = !bodyless && c.body !== undefined;
    const headers = new Headers(c.headers ?? {});
    // node:http hands the gateway a Content-Length for a sized body; app.request alone does not.
    if (withBody && c.body !== undefined && !headers.has('content-length'))
      headers.set('content-length', String(typeof c.body === 'string' ? Buffer.byteLength(c.body) : c.body.byteLength));
    return new Request(`http://worker${c.path}`, {
      method: c.method,
      headers,
      ...(withBody ? { body: c.body } : {}),
    });
  } catch {
    // Not a request the HTTP layer could ever deliver (an invalid header value, say).
    return undefined;
  }
}

async function send(c: Case, request: Request): Promise<string | undefined> {
  let res: Response;
  try {
    res = await t.worker.app.request(request);
  } catch (err) {
    return `threw ${(err as Error).message}`;
  }
  if (res.status >= 500) return `answered ${res.status}: ${(await res.text()).slice(0, 300)}`;
  if (res.status >= 400 && c.method !== 'HEAD') {
    const text = await res.text();
    let body: { error?: { code?: unknown; message?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      return `answered ${res.status} without JSON: ${text.slice(0, 200)}`;
    }
    if (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string')
      return `answered ${res.status} without the error shape: ${text.slice(0, 200)}`;
  } else {
    await res.arrayBuffer();
  }
  return undefined;
}

/** The cases that held the event loop longest (by this thread's CPU), for the log. */
const slowest: { ms: number; what: string }[] = [];

/** The most a request path may hold the event loop, by its own CPU (issue 16 item 4). */
const MAX_BLOCK_MS = 100;

/** How long one send of `c` held the loop; the request is built before the watch starts (encoding the body is the client's work). */
async function timedSend(c: Case, request: Request): Promise<{ failure: string | undefined; blockedMs: number }> {
  const watch = watchEventLoop();
  const failure = await send(c, request);
  return { failure, blockedMs: watch.stop().maxBlockedMs };
}

async function run(cases: Case[]): Promise<string[]> {
  const failures: string[] = [];
  for (const c of cases) {
    const request = requestOf(c);
    if (!request) continue;
    const first = await timedSend(c, request);
    if (first.failure) failures.push(`${first.failure}\n    sent: ${describeCase(c)}`);
    // A case over the limit is timed twice more and judged by its best run. Work the code really
    // does on the loop repeats every time; what does not repeat is the machine's: a major GC of
    // the heap earlier cases left (this case only happened to trigger it), or a descheduled
    // process that then runs a whole burst of ready I/O callbacks between two timer ticks.
    let blockedMs = first.blockedMs;
    for (let retry = 0; retry < 2 && blockedMs > MAX_BLOCK_MS; retry++) {
      const again = requestOf(c);
      if (!again) break;
      blockedMs = Math.min(blockedMs, (await timedSend(c, again)).blockedMs);
    }
    if (first.blockedMs > 50)
      slowest.push({ ms: blockedMs, what: `${describeCase(c)} (first run ${first.blockedMs.toFixed(1)} ms)` });
  }
  return failures;
}

describe('gateway fuzz: no client input produces a 5xx', () => {
  it('the fixed corpus over every route', async () => {
    const cases = corpus();
    const failures = await run(cases);
    expect(
      failures,
      `${failures.length} of ${cases.length} cases failed:\n${failures.slice(0, 40).join('\n')}`,
    ).toEqual([]);
    // No request path may hold the event loop longer than 100 ms of its own CPU (issue 16 item 4).
    const worst = slowest.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, what: '' });
    expect(worst.ms, `blocked the loop ${worst.ms.toFixed(1)} ms: ${worst.what}`).toBeLessThanOrEqual(MAX_BLOCK_MS);
  });

  it('seeded random mutations over every route', async () => {
    const seed = Number(process.env.STRATA_FUZZ_SEED ?? 0x5742a7a);
    const n = Number(process.env.STRATA_FUZZ_N ?? 600);
    const r = prng(seed);
    const cases = Array.from({ length: n }, () => randomCase(r));
    const failures = await run(cases);
    expect(
      failures,
      `seed ${seed}: ${failures.length} of ${n} cases failed (replay with STRATA_FUZZ_SEED=${seed}):\n${failures.slice(0, 40).join('\n')}`,
    ).toEqual([]);
  });

  it('the worker still serves afterwards', async () => {
    slowest.sort((a, b) => b.ms - a.ms);
    if (slowest.length > 0)
      console.log(
        `cases holding the event loop > 50 ms:\n${slowest
          .slice(0, 10)
          .map((s) => `${s.ms.toFixed(1)} ms  ${s.what}`)
          .join('\n')}`,
      );
    // (The corpus may have deleted echo: DELETE is one of the methods it tries on every path.)
    const deploy = await t.call(
      'POST',
      '/v1/functions',
      jsFunction('after-fuzz', 'export default (input) => ({ echo: input })'),
    );
    expect(deploy.status).toBe(201);
    const res = await t.call('POST', '/v1/functions/after-fuzz/invoke', { after: 'fuzz' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'succeeded', result: { echo: { after: 'fuzz' } } });
    expect((await t.call('GET', '/healthz')).status).toBe(200);
  });
});
