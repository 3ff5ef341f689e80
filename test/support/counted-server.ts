/** A loopback HTTP server that counts its hits: the egress suites' targets (docker and process tiers). */
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, type createServer as createTcpServer } from 'node:net';
import type { Resolver } from '../../src/net/destination-guard.ts';
import type { Connect } from '../../src/net/egress-proxy.ts';

export interface Counted {
  server: Server | ReturnType<typeof createTcpServer>;
  port: number;
  hits: number;
}

/** Listens on 127.0.0.1 (never another address) and answers `{ body, path }`. */
export async function httpServer(body: string): Promise<Counted> {
  const c = { hits: 0 } as Counted;
  c.server = createHttpServer((req, res) => {
    c.hits++;
    res.end(JSON.stringify({ body, path: req.url }));
  });
  await new Promise<void>((r) => c.server.listen(0, '127.0.0.1', r));
  c.port = (c.server.address() as { port: number }).port;
  return c;
}

export const close = (c: Counted) => new Promise((r) => c.server.close(r));

/** The proxy's upstream connect for tests: records each `host:port`, refuses anything but loopback. */
export const loopbackConnect =
  (record: (hostPort: string) => void): Connect =>
  (o) => {
    record(`${o.host}:${o.port}`);
    if (o.host !== '127.0.0.1') throw new Error(`a test connection would have left loopback: ${o.host}`);
    return connect({ host: o.host, port: o.port });
  };

/** Names the egress tests use; nothing else resolves (no real resolver is ever asked). */
export const testResolver: Resolver = async (host) => {
  const table: Record<string, string> = { 'api.test': '127.0.0.1', 'meta.test': '169.254.169.254' };
  if (!table[host]) throw new Error(`ENOTFOUND ${host}`);
  return [{ address: table[host] as string, family: 4 }];
};
