/**
 * One guarded HTTP exchange: the destination admitted by the SSRF guard (resolved once), the
 * connection made to exactly that address (a pinned lookup, no second resolution), the response
 * read up to a cap, bytes counted on the socket. Never throws: every end is a value.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { AdmittedDestination } from '../../src/net/destination-guard.ts';
import { pinnedLookup } from '../../src/net/destination-guard.ts';

export interface Exchange {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  admitted: AdmittedDestination;
  maxBytes: number;
  signal: AbortSignal;
}

export type ExchangeEnd =
  | { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; body: Buffer; tx: number; rx: number }
  | { kind: 'too_large'; status: number; tx: number; rx: number }
  | { kind: 'network'; message: string; tx: number; rx: number }
  | { kind: 'aborted'; tx: number; rx: number };

/** Opens the socket; tests replace it to prove a refused destination never gets one. */
export type Transport = (url: URL, options: https.RequestOptions) => http.ClientRequest;

export const defaultTransport: Transport = (url, options) =>
  url.protocol === 'https:' ? https.request(url, options) : http.request(url, options);

export function exchange(ex: Exchange, transport: Transport = defaultTransport): Promise<ExchangeEnd> {
  return new Promise((resolve) => {
    let socket: Socket | undefined;
    let settled = false;
    const counts = () => ({ tx: socket?.bytesWritten ?? 0, rx: socket?.bytesRead ?? 0 });
    const end = (value: ExchangeEnd) => {
      if (settled) return;
      settled = true;
      ex.signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    let req: http.ClientRequest;
    const onAbort = () => {
      const c = counts();
      req?.destroy();
      end({ kind: 'aborted', ...c });
    };
    try {
      req = transport(ex.url, {
        method: ex.method,
        headers: { ...ex.headers, ...(ex.body ? { 'content-length': String(ex.body.length) } : {}) },
        // One socket per exchange: its byte counters are this call's, and nothing is reused across functions.
        agent: false,
        lookup: pinnedLookup(ex.admitted),
        // TLS still checks the certificate against the name asked for, not the address.
        servername: ex.admitted.host,
      });
    } catch (err) {
      end({ kind: 'network', message: (err as Error).message, tx: 0, rx: 0 });
      return;
    }
    if (ex.signal.aborted) return onAbort();
    ex.signal.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (s) => {
      socket = s;
    });
    req.on('error', (err) => end({ kind: 'network', message: err.message, ...counts() }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > ex.maxBytes) {
          const c = counts();
          req.destroy();
          end({ kind: 'too_large', status: res.statusCode ?? 0, ...c });
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => end({ kind: 'network', message: err.message, ...counts() }));
      res.on('end', () =>
        end({
          kind: 'response',
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ...counts(),
        }),
      );
    });
    req.end(ex.body);
  });
}
