/**
 * `ctx.fetch(url, init)` for trusted JS: the http runtime's guarded client (the SSRF guard of
 * src/net and the one-socket exchange of sandboxes/http/request.ts), run by the isolate host
 * process on the isolate's behalf — user code never holds a socket, only the answer's text.
 * A destination is reached only when the function's `permissions.network` allow-list lists it
 * (host, host:port, CIDR) and the guard admits its addresses (public, or in the operator's
 * `http.allow`; never the worker's own API). The answer is read up to a cap; redirects are not
 * followed (a 3xx comes back as it is). Never throws: every end is a value.
 */

import { networkGrantOf } from '../../src/net/allow-list.ts';
import type { Resolver } from '../../src/net/destination-guard.ts';
import { DestinationGuard } from '../../src/net/destination-guard.ts';
import { defaultTransport, exchange, type Transport } from '../http/request.ts';

/** What a run may reach through ctx.fetch (sent with each run that has a network allow-list). */
export interface FetchPolicy {
  /** The function's permissions.network allow-list. */
  allow: string[];
  /** The operator's http.allow. */
  operatorAllow: string[];
  /** The worker's own listener(s): never reachable. */
  protected: { host: string; port: number }[];
  /** Largest response body read (http.maxResponse); also the largest request body sent. */
  maxResponseBytes: number;
}

export interface FetchAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type FetchEnd = ({ response: FetchAnswer } | { error: { code: string; message: string } }) & {
  tx: number;
  rx: number;
};

/** Test seams: a fake resolver, a transport that records the sockets it would open. */
export interface FetchDeps {
  resolve?: Resolver;
  transport?: Transport;
}

const HEADER_TEXT = /^[^\r\n\0]*$/;

const fail = (code: string, message: string, tx = 0, rx = 0): FetchEnd => ({ error: { code, message }, tx, rx });

/** The init the bootstrap sends: {method?, headers?, body?} as JSON text; anything else refused. */
function readInit(
  initJson: string,
  maxBytes: number,
): { method: string; headers: Record<string, string>; body?: Buffer } | string {
  let init: unknown;
  try {
    init = JSON.parse(initJson);
  } catch {
    return 'init must be an object {method, headers, body}';
  }
  if (init === null || typeof init !== 'object' || Array.isArray(init)) return 'init must be an object';
  const { method, headers, body } = init as Record<string, unknown>;
  const verb = method === undefined ? 'GET' : String(method).toUpperCase();
  if (!/^[A-Z]{1,16}$/.test(verb)) return `invalid method ${JSON.stringify(method)}`;
  const out: Record<string, string> = {};
  if (headers !== undefined) {
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return 'headers must be an object';
    for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
      const value = String(v);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || !HEADER_TEXT.test(value)) return `invalid header ${k}`;
      // The connection is the guard's: these say where it goes and how long it is.
      if (['host', 'content-length', 'transfer-encoding', 'connection'].includes(k.toLowerCase())) continue;
      out[k.toLowerCase()] = value;
    }
  }
  if (body !== undefined && body !== null && typeof body !== 'string') return 'body must be a string';
  const bytes = typeof body === 'string' ? Buffer.from(body) : undefined;
  if (bytes && bytes.length > maxBytes) return `the request body is larger than ${maxBytes} bytes`;
  if (bytes && (verb === 'GET' || verb === 'HEAD')) return `a ${verb} request has no body`;
  return { method: verb, headers: out, ...(bytes ? { body: bytes } : {}) };
}

export async function guardedFetch(
  urlText: string,
  initJson: string,
  policy: FetchPolicy,
  signal: AbortSignal,
  deps: FetchDeps = {},
): Promise<FetchEnd> {
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return fail('invalid_request', `ctx.fetch: ${JSON.stringify(urlText.slice(0, 200))} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return fail('destination_forbidden', `ctx.fetch: only http and https URLs, not ${url.protocol}`);
  if (url.username || url.password) return fail('destination_forbidden', 'ctx.fetch: no credentials in the URL');
  const init = readInit(initJson, policy.maxResponseBytes);
  if (typeof init === 'string') return fail('invalid_request', `ctx.fetch: ${init}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const { grant } = networkGrantOf({ allow: policy.allow });
  let admitted: Awaited<ReturnType<DestinationGuard['admit']>>;
  try {
    const guard = new DestinationGuard({
      operatorAllow: policy.operatorAllow,
      protected: () => policy.protected,
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
    });
    // Only a list names hosts; a function without one may reach nothing (never "everything").
    admitted = await guard.admit({ host, port }, grant.kind === 'list' ? grant : { kind: 'none' });
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'destination_forbidden';
    return fail(code, `ctx.fetch: ${(err as Error).message}`);
  }
  if (signal.aborted) return fail('cancelled', 'ctx.fetch: the invocation ended');
  const end = await exchange(
    {
      url,
      method: init.method,
      headers: init.headers,
      ...(init.body ? { body: init.body } : {}),
      admitted,
      maxBytes: policy.maxResponseBytes,
      signal,
    },
    deps.transport ?? defaultTransport,
  );
  switch (end.kind) {
    case 'response': {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(end.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      return { response: { status: end.status, headers, body: end.body.toString('utf8') }, tx: end.tx, rx: end.rx };
    }
    case 'too_large':
      return fail(
        'limit_exceeded',
        `ctx.fetch: the response body is larger than ${policy.maxResponseBytes} bytes (http.maxResponse)`,
        end.tx,
        end.rx,
      );
    case 'aborted':
      return fail('timeout', 'ctx.fetch: stopped at the invocation deadline (or its end)', end.tx, end.rx);
    default:
      return fail('network_error', `ctx.fetch: ${end.message}`, end.tx, end.rx);
  }
}
