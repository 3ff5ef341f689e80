/**
 * Claim the HTTP port before anything else starts, so a busy port fails at once with one clear
 * line and no sandbox host is ever spawned for nothing. Requests that arrive while the worker
 * is still starting wait for it (they are answered 503 if start-up fails).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StrataError } from '../core/errors.ts';

export interface Listener {
  url: string;
  server: Server;
  /** Start answering with `listener` (the gateway's; requests that waited go through now). */
  serve(listener: RequestListener): void;
  /** Refuse the waiting requests (start-up failed) and close the port. */
  abandon(): Promise<void>;
}

/** Why a listen failed, in words that say which setting to change. */
export function listenProblem(err: NodeJS.ErrnoException, host: string, port: number): StrataError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new StrataError('invalid_config', `port ${port} is in use — set STRATA_PORT (or stop what listens there)`);
    case 'EADDRNOTAVAIL':
      return new StrataError('invalid_config', `${host} is not an address of this host — set STRATA_HOST`);
    case 'EACCES':
      return new StrataError('invalid_config', `port ${port} needs privileges — set STRATA_PORT to 1024 or above`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StrataError(
        'invalid_config',
        `cannot resolve STRATA_HOST=${host} — set it to an address like 127.0.0.1`,
      );
    default:
      return new StrataError('invalid_config', `cannot listen on ${host}:${port}: ${err.message}`);
  }
}

export async function claimPort(host: string, port: number): Promise<Listener> {
  let ready: (listener: RequestListener) => void = () => {};
  let failed: () => void = () => {};
  const handler = new Promise<RequestListener>((resolve, reject) => {
    ready = (listener) => resolve(listener);
    failed = () => reject(new Error('start-up failed'));
  });
  handler.catch(() => {});
  const server = createServer((req, res) => {
    handler.then(
      (listener) => listener(req, res),
      () => {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'shutting_down', message: 'the worker failed to start' } }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenProblem(err as NodeJS.ErrnoException, host, port)));
    server.listen(port, host, () => resolve());
  });
  const info = server.address() as AddressInfo;
  const url = `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
  return {
    url,
    server,
    serve: (listener) => ready(listener),
    abandon: async () => {
      failed();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
