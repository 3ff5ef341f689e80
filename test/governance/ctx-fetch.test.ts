/**
 * ctx.fetch for trusted JS in the isolate tier: the http runtime's guarded client, made by the
 * isolate host process, reaching only what the function's permissions.network lists (and the
 * SSRF guard admits). Real isolate tier against a loopback server that http.allow admits
 * explicitly; refusals for a host the function did not list and for a function without network;
 * the size cap and the deadline; usage netTxBytes/netRxBytes. The guard's refusal of a name that
 * resolves to a forbidden address is shown with a fake resolver and a transport that records
 * every socket it would open (none). Every address used is on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '../../sandboxes/http/request.ts';
import { guardedFetch } from '../../sandboxes/isolate/guarded-fetch.ts';
import { type GovWorker, startGovWorker, type Upstream, upstream } from './support.ts';

describe('the guarded client of ctx.fetch (fake resolver, no socket)', () => {
  const recording = () => {
    const opened: string[] = [];
    const transport: Transport = (url) => {
      opened.push(url.href);
      throw new Error('a test transport never connects');
    };
    return { opened, transport };
  };
  const policy = (allow: string[], operatorAllow: string[] = []) => ({
    allow,
    operatorAllow,
    protected: [],
    maxResponseBytes: 1024,
  });

  it('a listed name that resolves to a forbidden address is refused before any socket', async () => {
    const { opened, transport } = recording();
    for (const address of ['127.0.0.1', '10.0.0.7', '169.254.169.254', '::ffff:127.0.0.1', 'fd00:ec2::254']) {
      const resolve = async () => [{ address, family: address.includes(':') ? 6 : 4 }];
      const end = await guardedFetch(
        'http://api.example.com/x',
        '{}',
        policy(['api.example.com']),
        new AbortController().signal,
        {
          resolve,
          transport,
        },
      );
      expect(end, address).toMatchObject({ error: { code: 'destination_forbidden' }, tx: 0, rx: 0 });
    }
    expect(opened).toEqual([]);
  });

  it('a host not in permissions.network is refused without even resolving it', async () => {
    const { opened, transport } = recording();
    const asked: string[] = [];
    const resolve = async (host: string) => {
      asked.push(host);
      return [{ address: '93.184.215.14', family: 4 }];
    };
    const signal = new AbortController().signal;
    const other = await guardedFetch('https://other.example.org/', '{}', policy(['api.example.com']), signal, {
      resolve,
      transport,
    });
    expect(other).toMatchObject({
      error: { code: 'destination_forbidden', message: expect.stringContaining('allow-list') },
    });
    const none = await guardedFetch('https://api.example.com/', '{}', policy([]), signal, { resolve, transport });
    expect(none).toMatchObject({ error: { code: 'destination_forbidden' } });
    const scheme = await guardedFetch('file:///etc/passwd', '{}', policy(['api.example.com']), signal, {
      resolve,
      transport,
    });
    expect(scheme).toMatchObject({ error: { code: 'destination_forbidden' } });
    expect(asked).toEqual([]);
    expect(opened).toEqual([]);
  });

  it('the admitted address is the one connected to (a pinned lookup, no second resolution)', async () => {
    const seen: { href: string; lookup: unknown }[] = [];
    const transport: Transport = (url, options) => {
      seen.push({ href: url.href, lookup: options.lookup });
      throw new Error('recorded');
    };
    let lookups = 0;
    const resolve = async () => {
      lookups++;
      return [{ address: '127.0.0.2', family: 4 }];
    };
    const end = await guardedFetch(
      'http://svc.internal:8080/ping',
      '{}',
      policy(['svc.internal:8080'], ['127.0.0.2/32']),
      new AbortController().signal,
      { resolve, transport },
    );
    expect(end).toMatchObject({ error: { code: 'network_error' } });
    expect(seen).toHaveLength(1);
    expect(lookups).toBe(1);
    const lookup = seen[0]?.lookup as (h: string, o: object, cb: (e: null, a: string) => void) => void;
    const address = await new Promise<string>((r) => lookup('svc.internal', {}, (_e, a) => r(a)));
    expect(address).toBe('127.0.0.2');
  });
});

describe('ctx.fetch in the isolate tier (real worker, loopback server)', () => {
  let gov: GovWorker;
  let api: Upstream;
  let other: Upstream;

  beforeAll(async () => {
    api = await upstream((req, res) => {
      if (req.url === '/huge') {
        res.end('x'.repeat(256 * 1024));
        return;
      }
      if (req.url === '/slow') return; // never answers: the deadline ends it
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, got: req.body, auth: req.headers['x-token'] ?? null }));
    });
    other = await upstream((_req, res) => res.end('should never be reached'));
    gov = await startGovWorker({ 'http.allow': '127.0.0.1', 'http.maxResponse': '64KiB' });
  }, 120_000);
  afterAll(async () => {
    await gov?.close();
    await api?.close();
    await other?.close();
  });

  const deploy = async (name: string, source: string, network: unknown, extra: Record<string, unknown> = {}) => {
    const res = await gov.call('POST', '/v1/functions', {
      name,
      runtime: 'js',
      trust: 'trusted',
      source,
      ...(network === undefined ? {} : { permissions: { network } }),
      ...extra,
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body.tier).toBe('isolate');
  };
  const invoke = async (name: string, input: unknown = {}) =>
    (await (await gov.call('POST', `/v1/functions/${name}/invoke`, input)).json()) as {
      status: string;
      result: unknown;
      error?: { code: string };
      tier: string;
      usage: Record<string, unknown> & { measured: string[] };
    };

  const CALLER = `export default async (input, ctx) => {
    try {
      const res = await ctx.fetch(input.url, { method: 'POST', headers: { 'x-token': 't1' }, body: { hello: 'api' } });
      return { status: res.status, ok: res.ok, type: res.headers['content-type'], body: await res.json() };
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }`;

  it('reaches a listed host:port and counts its bytes', async () => {
    await deploy('caller', CALLER, { allow: [`127.0.0.1:${api.port}`] });
    const record = await invoke('caller', { url: `${api.url}/echo` });
    expect(record).toMatchObject({
      status: 'succeeded',
      tier: 'isolate',
      result: {
        status: 200,
        ok: true,
        type: 'application/json',
        body: { method: 'POST', got: '{"hello":"api"}', auth: 't1' },
      },
    });
    expect(record.usage.netTxBytes).toBeGreaterThan(0);
    expect(record.usage.netRxBytes).toBeGreaterThan(0);
    expect(record.usage.measured).toEqual(expect.arrayContaining(['netTxBytes', 'netRxBytes']));
  });

  it('a host:port the function did not list is refused with destination_forbidden, and never reached', async () => {
    const before = other.connections;
    const record = await invoke('caller', { url: `${other.url}/` });
    expect(record.status).toBe('succeeded');
    expect(record.result).toMatchObject({ code: 'destination_forbidden' });
    expect(other.connections).toBe(before);
  });

  it('a function without permissions.network gets destination_forbidden; an uncaught refusal fails the run', async () => {
    await deploy('no-net', CALLER, undefined);
    const before = api.connections;
    const record = await invoke('no-net', { url: `${api.url}/echo` });
    expect(record.result).toMatchObject({ code: 'destination_forbidden' });
    expect(record.usage.measured).not.toContain('netTxBytes');
    await deploy('careless', 'export default async (input, ctx) => (await ctx.fetch(input.url)).status', undefined);
    const failed = await invoke('careless', { url: `${api.url}/echo` });
    expect(failed.status).toBe('failed');
    expect(api.connections).toBe(before);
  });

  it('a body over http.maxResponse is cut off (limit_exceeded); a silent server ends at the deadline', async () => {
    const huge = await invoke('caller', { url: `${api.url}/huge` });
    expect(huge.result).toMatchObject({ code: 'limit_exceeded' });
    await deploy('waiter', CALLER, { allow: [`127.0.0.1:${api.port}`] }, { limits: { timeoutMs: 1500 } });
    const slow = await invoke('waiter', { url: `${api.url}/slow` });
    expect(slow.status).toBe('timeout');
  }, 60_000);

  it('the isolate holds no host object: the answer is plain data', async () => {
    await deploy(
      'introspect',
      `export default async (input, ctx) => {
        const res = await ctx.fetch(input.url);
        return [typeof require, typeof process, Object.keys(res).sort()];
      }`,
      { allow: [`127.0.0.1:${api.port}`] },
    );
    const record = await invoke('introspect', { url: `${api.url}/echo` });
    expect(record.result).toEqual(['undefined', 'undefined', ['headers', 'json', 'ok', 'status', 'text']]);
  });
});
