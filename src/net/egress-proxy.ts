/**
 * The egress proxy: the only way out of a sandbox that was granted network. One proxy per
 * invocation (or container), holding that function's grant. It speaks the HTTP proxy protocol:
 * `CONNECT host:port` opens a tunnel (https and anything else over TCP), an absolute-form request
 * (`GET http://host/path`) or an origin-form one with a Host header is forwarded. Every
 * destination goes through the DestinationGuard, and the upstream socket connects to exactly the
 * address the guard checked. Clients arrive through `accept(socket)` (a listener the caller made,
 * e.g. one inside the sandbox's network namespace) or a Unix socket from `listen(path)`.
 *
 * Bytes to and from upstreams are counted: they are the sandbox's netTxBytes / netRxBytes.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { StrataError } from '../core/errors.ts';
import type { NetworkGrant } from './allow-list.ts';
import { splitHostPort } from './allow-list.ts';
import type { AdmittedDestination, DestinationGuard } from './destination-guard.ts';

/** Opens the upstream connection to an admitted (already resolved) address. Injected in tests. */
export type Connect = (options: { host: string; port: number; family: 4 | 6 }) => Socket;

export interface EgressProxyOptions {
  grant: NetworkGrant;
  guard: DestinationGuard;
  connect?: Connect;
  /** Client connections open at once; more are closed at once (a sandbox cannot exhaust the worker's fds). */
  maxConnections?: number;
  /** A tunnel or upstream idle this long is closed. */
  idleTimeoutMs?: number;
  /** Called for every refused destination (the tier writes it to the function's logs). */
  onRefusal?: (refusal: EgressRefusal) => void;
}

export interface EgressRefusal {
  host: string;
  port: number;
  code: string;
  message: string;
}

export interface EgressStats {
  /** Client connections accepted. */
  connections: number;
  /** Upstream connections opened. */
  upstreams: number;
  /** Destinations refused (and client connections refused over the cap). */
  refused: number;
  /** Bytes received from upstreams / sent to upstreams. */
  rxBytes: number;
  txBytes: number;
  /** The first refusals (bounded). */
  refusals: EgressRefusal[];
}

const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const MAX_REFUSALS = 50;

/** Headers minus hop-by-hop ones (and those the Connection header names). */
function endToEnd(raw: readonly string[]): [string, string][] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]?.toLowerCase() === 'connection')
      for (const t of (raw[i + 1] ?? '').split(',')) named.add(t.trim().toLowerCase());
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i] as string;
    const lk = k.toLowerCase();
    if (!HOP_BY_HOP.has(lk) && !named.has(lk)) out.push([k, raw[i + 1] ?? '']);
  }
  return out;
}

const reasonText = (status: number) => (status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway');

export class EgressProxy {
  readonly #grant: NetworkGrant;
  readonly #guard: DestinationGuard;
  readonly #connect: Connect;
  readonly #max: number;
  readonly #idleMs: number;
  readonly #onRefusal: ((r: EgressRefusal) => void) | undefined;
  readonly #http = createHttpServer({ maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 0 });
  readonly #clients = new Set<Duplex>();
  readonly #upstreams = new Set<Socket>();
  readonly #listeners: { server: Server; path: string }[] = [];
  readonly #stats: EgressStats = { connections: 0, upstreams: 0, refused: 0, rxBytes: 0, txBytes: 0, refusals: [] };
  #closed = false;

  constructor(options: EgressProxyOptions) {
    this.#grant = options.grant;
    this.#guard = options.guard;
    this.#connect = options.connect ?? ((o) => netConnect({ host: o.host, port: o.port, family: o.family }));
    this.#max = options.maxConnections ?? 32;
    this.#idleMs = options.idleTimeoutMs ?? 60_000;
    this.#onRefusal = options.onRefusal;
    this.#http.on(
      'connect',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.#tunnel(req, socket, head),
    );
    this.#http.on('request', (req: IncomingMessage, res: ServerResponse) => void this.#forward(req, res));
    this.#http.on('upgrade', (_req: IncomingMessage, socket: Duplex) =>
      this.#rawReply(socket, 400, 'protocol upgrades through the proxy are not supported; use CONNECT'),
    );
    this.#http.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Serve one client connection (from any listener the caller owns). */
  accept(socket: Duplex): void {
    if (this.#closed || this.#clients.size >= this.#max) {
      this.#stats.refused++;
      socket.destroy();
      return;
    }
    this.#stats.connections++;
    this.#clients.add(socket);
    socket.once('close', () => this.#clients.delete(socket));
    socket.on('error', () => socket.destroy());
    this.#http.emit('connection', socket);
  }

  /** Also listen on a Unix socket (bind-mounted into a sandbox or a container); mode 0666. */
  async listen(path: string): Promise<void> {
    rmSync(path, { force: true });
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    // The sandbox's unprivileged user must be able to connect.
    chmodSync(path, 0o666);
    this.#listeners.push({ server, path });
  }

  stats(): EgressStats {
    // Open upstreams count too (the sampler reads this while the function runs).
    let rx = this.#stats.rxBytes;
    let tx = this.#stats.txBytes;
    for (const s of this.#upstreams) {
      rx += s.bytesRead;
      tx += s.bytesWritten;
    }
    return { ...this.#stats, rxBytes: rx, txBytes: tx, refusals: [...this.#stats.refusals] };
  }

  /** Close every listener, client and upstream. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#clients) s.destroy();
    for (const s of this.#upstreams) s.destroy();
    await Promise.all(
      this.#listeners.splice(0).map(
        ({ server, path }) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            rmSync(path, { force: true });
          }),
      ),
    );
  }

  #refuse(host: string, port: number, err: unknown): EgressRefusal {
    const e =
      err instanceof StrataError ? err : new StrataError('destination_forbidden', `${host}:${port}: ${String(err)}`);
    const refusal = { host, port, code: e.code, message: e.message };
    this.#stats.refused++;
    if (this.#stats.refusals.length < MAX_REFUSALS) this.#stats.refusals.push(refusal);
    this.#onRefusal?.(refusal);
    return refusal;
  }

  #rawReply(socket: Duplex, status: number, message: string, code = 'invalid_request'): void {
    const body = `${message}\n`;
    if (!socket.writable) return void socket.destroy();
    socket.end(
      `HTTP/1.1 ${status} ${reasonText(status)}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Strata-Error: ${code}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  #open(admitted: AdmittedDestination): Socket {
    const up = this.#connect({ host: admitted.address, port: admitted.port, family: admitted.family });
    this.#stats.upstreams++;
    this.#upstreams.add(up);
    up.setTimeout(this.#idleMs, () => up.destroy());
    up.once('close', () => {
      this.#upstreams.delete(up);
      this.#stats.rxBytes += up.bytesRead;
      this.#stats.txBytes += up.bytesWritten;
    });
    return up;
  }

  async #tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const { host, port: portText } = splitHostPort(req.url ?? '');
    const port = Number(portText);
    if (!host || !portText || !Number.isInteger(port)) {
      this.#rawReply(client, 400, 'CONNECT needs host:port');
      return;
    }
    let admitted: AdmittedDestination;
    try {
      admitted = await this.#guard.admit({ host, port }, this.#grant);
    } catch (err) {
      const r = this.#refuse(host, port, err);
      this.#rawReply(client, 403, r.message, r.code);
      return;
    }
    if (this.#closed || client.destroyed) return void client.destroy();
    const up = this.#open(admitted);
    let connected = false;
    up.once('connect', () => {
      connected = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', (err) => {
      if (!connected)
        this.#rawReply(client, 502, `cannot connect to ${host}:${port}: ${err.message}`, 'upstream_error');
      else client.destroy();
    });
    client.once('close', () => up.destroy());
    up.once('close', () => client.destroy());
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fail = (status: number, message: string, code: string) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'x-strata-error': code,
        connection: 'close',
      });
      res.end(`${message}\n`);
    };
    let url: URL;
    try {
      const raw = req.url ?? '/';
      url = new URL(raw.startsWith('/') ? `http://${req.headers.host ?? ''}${raw}` : raw);
    } catch {
      return fail(
        400,
        'not a proxy request: send an absolute URL (http://host/path) or CONNECT host:port',
        'invalid_request',
      );
    }
    if (url.protocol !== 'http:')
      return fail(
        400,
        `${url.protocol} URLs go through CONNECT (set HTTPS_PROXY); only http:// is forwarded`,
        'invalid_request',
      );
    const host = url.hostname;
    const port = Number(url.port || 80);
    let admitted: AdmittedDestination;
    try {
      admitted = await this.#guard.admit({ host, port }, this.#grant);
    } catch (err) {
      const r = this.#refuse(host, port, err);
      return fail(403, r.message, r.code);
    }
    if (this.#closed) return void res.destroy();
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of endToEnd(req.rawHeaders)) {
      const prev = headers[k];
      headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    headers.connection = 'close';
    // No agent: with createConnection the request uses exactly the socket opened here.
    const upReq = request({
      host: admitted.address,
      port: admitted.port,
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers,
      setHost: false,
      createConnection: () => this.#open(admitted),
    });
    upReq.on('response', (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEnd(upRes.rawHeaders).flat());
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
    });
    upReq.on('error', (err) => fail(502, `cannot reach ${host}:${port}: ${err.message}`, 'upstream_error'));
    res.once('close', () => upReq.destroy());
    req.pipe(upReq);
  }
}

export const createEgressProxy = (options: EgressProxyOptions): EgressProxy => new EgressProxy(options);
