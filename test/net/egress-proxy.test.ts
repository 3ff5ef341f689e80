/**
 * The egress proxy, in-process: a client speaks the proxy protocol over a Unix socket; upstream
 * sockets are opened only through a counting connect. The only server reached is a loopback one
 * the operator allow-list admits explicitly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { networkGrantOf } from '../../src/net/allow-list.ts';
import { DestinationGuard, type Resolver } from '../../src/net/destination-guard.ts';
import { type Connect, EgressProxy } from '../../src/net/egress-proxy.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-egress-test-'));
let http: Server;
let httpPort: number;
let echo: ReturnType<typeof createTcpServer>;
let echoPort: number;
let proxies: EgressProxy[] = [];
let opened: string[] = [];
const counting: Connect = (o) => {
  opened.push(`${o.host}:${o.port}`);
  if (o.host !== '127.0.0.1' && o.host !== '::1') throw new Error(`test would have left loopback: ${o.host}`);
  return connect({ host: o.host, port: o.port, family: o.family });
};
const resolve: Resolver = async (host) => {
  const table: Record<string, string> = { 'meta.test': '169.254.169.254', 'local.test': '127.0.0.1' };
  if (!table[host]) throw new Error('ENOTFOUND');
  return [{ address: table[host] as string, family: 4 }];
};

async function proxy(network: Parameters<typeof networkGrantOf>[0], operatorAllow: string[] = []) {
  const p = new EgressProxy({
    grant: networkGrantOf(network).grant,
    guard: new DestinationGuard({ resolve, operatorAllow }),
    connect: counting,
    maxConnections: 4,
  });
  const path = join(dir, `p${proxies.length}.sock`);
  await p.listen(path);
  proxies.push(p);
  return { p, path };
}

/** Send raw text over the Unix socket, return everything the proxy answers until it closes. */
function exchange(path: string, text: string, after?: (s: Socket) => void): Promise<string> {
  return new Promise((resolveText, reject) => {
    const s = connect(path);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
      if (after && out.includes('\r\n\r\n')) {
        const f = after;
        after = undefined;
        f(s);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolveText(out));
    s.write(text);
  });
}

beforeAll(async () => {
  http = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      res.setHeader('x-upstream', 'yes');
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          host: req.headers.host,
          body,
          proxyAuth: req.headers['proxy-authorization'] ?? null,
        }),
      );
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as { port: number }).port;
  echo = createTcpServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as { port: number }).port;
});
afterEach(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  proxies = [];
  opened = [];
});
afterAll(async () => {
  await new Promise((r) => http.close(r));
  await new Promise((r) => echo.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('egress proxy', () => {
  it('forwards an absolute-form request to an operator-admitted loopback server and counts bytes', async () => {
    const { p, path } = await proxy({ allow: [`127.0.0.1:${httpPort}`] }, ['127.0.0.1']);
    const answer = await exchange(
      path,
      `POST http://127.0.0.1:${httpPort}/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\nProxy-Authorization: secret\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
    );
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    expect(answer).toMatch(/x-upstream: yes/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({
      method: 'POST',
      url: '/x?y=1',
      host: `127.0.0.1:${httpPort}`,
      body: 'hello',
      proxyAuth: null,
    });
    expect(opened).toEqual([`127.0.0.1:${httpPort}`]);
    const s = p.stats();
    expect(s.rxBytes).toBeGreaterThan(100);
    expect(s.txBytes).toBeGreaterThan(50);
    expect(s.upstreams).toBe(1);
  });

  it('tunnels CONNECT byte for byte', async () => {
    const { p, path } = await proxy(true, [`127.0.0.1:${echoPort}`]);
    const answer = await exchange(path, `CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: x\r\n\r\n`, (s) => {
      s.write('ping through the tunnel');
      setTimeout(() => s.end(), 50);
    });
    expect(answer).toMatch(/^HTTP\/1.1 200 Connection Established\r\n\r\nping through the tunnel/);
    expect(opened).toEqual([`127.0.0.1:${echoPort}`]);
    expect(p.stats().rxBytes).toBe('ping through the tunnel'.length);
  });

  it('refuses loopback without the operator allow-list, and never opens a socket', async () => {
    const { p, path } = await proxy(true);
    const a = await exchange(
      path,
      `GET http://127.0.0.1:${httpPort}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(a).toMatch(/^HTTP\/1.1 403/);
    expect(a).toMatch(/x-strata-error: destination_forbidden/i);
    expect(a).toContain('loopback');
    const b = await exchange(path, `CONNECT meta.test:80 HTTP/1.1\r\nHost: meta.test:80\r\n\r\n`);
    expect(b).toMatch(/^HTTP\/1.1 403/);
    expect(b).toContain('metadata');
    const c = await exchange(path, `CONNECT local.test:${echoPort} HTTP/1.1\r\n\r\n`);
    expect(c).toMatch(/^HTTP\/1.1 403/);
    expect(opened).toEqual([]);
    expect(p.stats()).toMatchObject({ refused: 3, upstreams: 0 });
    expect(p.stats().refusals.map((r) => r.host)).toEqual(['127.0.0.1', 'meta.test', 'local.test']);
  });

  it("refuses a destination outside the function's allow-list even when the operator admits it", async () => {
    const { path } = await proxy({ allow: [`127.0.0.1:${httpPort}`] }, ['127.0.0.1']);
    const a = await exchange(path, `CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`);
    expect(a).toMatch(/^HTTP\/1.1 403/);
    expect(a).toContain("not in the function's permissions.network allow-list");
    expect(opened).toEqual([]);
  });

  it('answers origin-form requests by their Host header, refuses https absolute-form and junk', async () => {
    const { path } = await proxy(true, ['127.0.0.1']);
    const a = await exchange(path, `GET /o HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\nConnection: close\r\n\r\n`);
    expect(JSON.parse(a.slice(a.indexOf('\r\n\r\n') + 4))).toMatchObject({ url: '/o' });
    const b = await exchange(path, 'GET https://127.0.0.1/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(b).toMatch(/^HTTP\/1.1 400/);
    const c = await exchange(path, 'NOT HTTP AT ALL\r\n\r\n');
    expect(c).toMatch(/^HTTP\/1.1 400/);
  });

  it('caps client connections and closes everything on close()', async () => {
    const { p, path } = await proxy(true, ['127.0.0.1']);
    const held: Socket[] = [];
    for (let i = 0; i < 6; i++) held.push(connect(path).on('error', () => {}));
    const closed = Promise.all(held.map((s) => new Promise((r) => s.once('close', r))));
    await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
    // Wait for the proxy to have seen all six (accepted or refused), not for a fixed time.
    while (p.stats().connections + p.stats().refused < 6) await new Promise((r) => setTimeout(r, 5));
    expect(p.stats().connections).toBe(4);
    expect(p.stats().refused).toBe(2);
    await p.close();
    await closed;
    // The Unix socket is gone with the proxy.
    await expect(new Promise((r, j) => connect(path).once('connect', r).once('error', j))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
