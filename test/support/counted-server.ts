/** A loopback HTTP server that counts its hits: the egress suites' targets (docker and process tiers). */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { createServer as createTcpServer } from 'node:net';

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
