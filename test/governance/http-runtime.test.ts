/**
 * runtime "http" end to end through the worker's HTTP app: a loopback upstream admitted by
 * http.allow (never traffic off loopback), secrets as headers, retries, timeout, response cap,
 * upstream errors, and the SSRF guard's refusal with DNS rebinding via a fake resolver.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GovWorker, httpFn, startGovWorker, type Upstream, upstream } from './support.ts';

let api: Upstream;
let gov: GovWorker;
/** Answers for the fake name "api.test": one queue per lookup. */
let rebind: string[] = [];

beforeAll(async () => {
  api = await upstream((req, res, n) => {
    const path = req.url ?? '';
    if (path.startsWith('/echo')) {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ got: req.body ? JSON.parse(req.body) : null, auth: req.headers.authorization !== undefined }),
      );
    } else if (path === '/fail') {
      res.statusCode = 500;
      res.end('database on fire');
    } else if (path === '/text') res.end('plain words');
    else if (path === '/huge') {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(Buffer.alloc(256 * 1024, 97));
    } else if (path === '/slow') {
      // Never answers: the worker's deadline must end the call.
    } else if (path.startsWith('/flaky')) {
      const tries = api.requests.filter((r) => r.url === path).length;
      res.statusCode = tries < 3 ? 503 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ tries, n }));
    } else if (path === '/redirect') {
      res.statusCode = 302;
      res.setHeader('location', '/echo');
      res.end();
    } else {
      res.statusCode = 404;
      res.end('no');
    }
  });
  gov = await startGovWorker(
    { 'http.allow': '127.0.0.1', 'http.maxResponse': '64KiB' },
    {
      resolve: async (host) => {
        if (host !== 'api.test') throw new Error(`unexpected lookup of ${host}`);
        const address = rebind.shift() ?? '127.0.0.1';
        return [{ address, family: 4 }];
      },
    },
  );
});

afterAll(async () => {
  await gov?.close();
  await api?.close();
});

async function deployAndInvoke(manifest: Record<string, unknown>, input: unknown = {}) {
  const deployed = await gov.call('POST', '/v1/functions', manifest);
  expect(deployed.status, await deployed.clone().text()).toBe(201);
  const res = await gov.call('POST', `/v1/functions/${manifest.name}/invoke`, input);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

describe('runtime http', () => {
  it('POSTs the input and returns the JSON answer, with network bytes measured', async () => {
    const record = await deployAndInvoke(httpFn('echo', `${api.url}/echo`), { a: 1 });
    expect(record.status).toBe('succeeded');
    expect(record.result).toEqual({ got: { a: 1 }, auth: false });
    expect(record.tier).toBe('http');
    expect(record.placement).toMatchObject({ tier: 'http', requested: 'http' });
    expect(record.usage.measured).toEqual(expect.arrayContaining(['wallMs', 'netTxBytes', 'netRxBytes']));
    expect(record.usage.netTxBytes).toBeGreaterThan(0);
    expect(record.usage.netRxBytes).toBeGreaterThan(0);
  });

  it('keeps a non-JSON body as text', async () => {
    const record = await deployAndInvoke(httpFn('text', `${api.url}/text`, { method: 'GET' }));
    expect(record).toMatchObject({ status: 'succeeded', result: 'plain words' });
  });

  it('ends failed upstream_error on a 500, with the status and the head of the body', async () => {
    const record = await deployAndInvoke(httpFn('fail', `${api.url}/fail`));
    expect(record.status).toBe('failed');
    expect(record.error.code).toBe('upstream_error');
    expect(record.error.message).toContain('500');
    expect(record.error.message).toContain('database on fire');
  });

  it('ends a slow upstream at the deadline (timeout)', async () => {
    const record = await deployAndInvoke(httpFn('slow', `${api.url}/slow`, { limits: { timeoutMs: 300 } }));
    expect(record.status).toBe('timeout');
    expect(record.error.code).toBe('timeout');
  });

  it('caps the response body (http.maxResponse)', async () => {
    const record = await deployAndInvoke(httpFn('huge', `${api.url}/huge`));
    expect(record.status).toBe('killed');
    expect(record.error.code).toBe('limit_exceeded');
    expect(record.error.message).toContain('http.maxResponse');
  });

  it('retries an idempotent method with backoff until it succeeds', async () => {
    const record = await deployAndInvoke(
      httpFn('flaky', `${api.url}/flaky-get`, { method: 'GET', retries: 3, limits: { timeoutMs: 20_000 } }),
    );
    expect(record.status).toBe('succeeded');
    expect(record.result.tries).toBe(3);
    expect(api.requests.filter((r) => r.url === '/flaky-get')).toHaveLength(3);
  });

  it('does not retry a POST', async () => {
    const record = await deployAndInvoke(httpFn('flaky-post', `${api.url}/flaky-post`, { retries: 3 }));
    expect(record.status).toBe('failed');
    expect(api.requests.filter((r) => r.url === '/flaky-post')).toHaveLength(1);
  });

  it('refuses redirects by default', async () => {
    const record = await deployAndInvoke(httpFn('redirect', `${api.url}/redirect`));
    expect(record.status).toBe('failed');
    expect(record.error.code).toBe('upstream_error');
    expect(record.error.message).toContain('redirects are not followed');
  });

  it('refuses a deploy whose fixed URL is forbidden, opening no socket', async () => {
    const before = api.connections;
    for (const url of ['http://169.254.169.254/latest', 'http://10.0.0.1/', 'http://[::1]:9/', 'http://127.0.0.2/']) {
      const res = await gov.call('POST', '/v1/functions', httpFn('meta', url));
      expect(res.status, url).toBe(403);
      expect(((await res.json()) as any).error.code).toBe('destination_forbidden');
    }
    expect(api.connections).toBe(before);
  });

  it('DNS rebinding: the name checked at deploy answers a forbidden address at invoke -> destination_forbidden, no connection', async () => {
    rebind = ['127.0.0.1', '127.0.0.2'];
    const before = api.connections;
    const record = await deployAndInvoke(httpFn('rebind', `http://api.test:${api.port}/echo`));
    expect(record.status).toBe('failed');
    expect(record.error.code).toBe('destination_forbidden');
    expect(record.error.message).toContain('127.0.0.2');
    expect(api.connections).toBe(before);
  });

  it('sends secrets as headers and never shows them in a record, a log line, the config or the store', async () => {
    const value = 'tok-5ecret-ZZZ-9182736';
    const set = await gov.call('POST', '/v1/secrets', { name: 'acme-token', value });
    expect(set.status).toBe(201);
    const listed = (await (await gov.call('GET', '/v1/secrets')).json()) as any;
    expect(listed.secrets.map((s: any) => s.name)).toEqual(['acme-token']);
    expect(JSON.stringify(listed)).not.toContain(value);

    const refused = await gov.call(
      'POST',
      '/v1/functions',
      httpFn('no-perm', `${api.url}/echo`, {
        secrets: { Authorization: { secret: 'acme-token', format: 'Bearer {}' } },
      }),
    );
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.code).toBe('permission_denied');

    const record = await deployAndInvoke(
      httpFn('authed', `${api.url}/echo`, {
        secrets: { Authorization: { secret: 'acme-token', format: 'Bearer {}' } },
        permissions: { secrets: ['acme-token'] },
      }),
      { q: 1 },
    );
    expect(record.status).toBe('succeeded');
    // The upstream got it...
    expect(api.requests.at(-1)?.headers.authorization).toBe(`Bearer ${value}`);
    // ...and nothing the worker wrote (record, function, logs, database) has it in clear.
    expect(JSON.stringify(record)).not.toContain(value);
    const fn = await (await gov.call('GET', '/v1/functions/authed')).text();
    expect(fn).not.toContain(value);
    expect(gov.logText()).not.toContain(value);
    await gov.worker.executor.monitorSettled();
    const db = readFileSync(join(gov.dataDir, 'strata.db'));
    expect(db.includes(Buffer.from('5ecret'))).toBe(false);
    const wal = (() => {
      try {
        return readFileSync(join(gov.dataDir, 'strata.db-wal'));
      } catch {
        return Buffer.alloc(0);
      }
    })();
    expect(wal.includes(Buffer.from('tok-5ecret'))).toBe(false);

    const gone = await gov.call('DELETE', '/v1/secrets/acme-token');
    expect(gone.status).toBe(200);
    const after = await gov.call('POST', '/v1/functions/authed/invoke', {});
    const failed = (await after.json()) as any;
    expect(failed.status).toBe('failed');
    expect(failed.error.message).toContain('not set');
  });
});
