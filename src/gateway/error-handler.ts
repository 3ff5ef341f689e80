/**
 * The one place an error becomes an HTTP answer: `{"error": {"code", "message"}}` with the status
 * of its code (httpStatusOf in src/core/errors.ts, shared with the Master). Anything that is not a
 * StrataError and reaches here is a bug and answers 500; everything a client can send is turned
 * into a 4xx before (see read-body.ts).
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { type ErrorCode, httpStatusOf, isStrataError, StrataError } from '../core/errors.ts';
import { capText } from '../core/text-cap.ts';
import { publicError } from '../tenants/namespace.ts';
import type { GatewayEnv } from './env.ts';

/** Error text in an answer is bounded like error text in a record. */
const MESSAGE_BYTES = 16 * 1024;

/** Deploy routes: a used-up quota there is a refusal (403), not "retry later" (429). */
const DEPLOY = /^\/v1\/functions(\/[^/]+\/module)?\/?$/;

export const statusOf = (code: ErrorCode, when: 'invoke' | 'deploy' | 'control' = 'invoke'): ContentfulStatusCode =>
  httpStatusOf(code, when) as ContentfulStatusCode;

/** An error as an answer, without a Hono context (the invoke fast path uses it too). */
export interface ErrorAnswer {
  status: ContentfulStatusCode;
  headers: Record<string, string>;
  body: { error: ReturnType<StrataError['toJSON']> };
}

/** The request facts the mapping depends on: the tenant (names shown), method and path (deploy or not). */
export interface ErrorRequest {
  tenant: string | undefined;
  method: string;
  path: string;
  log?: Pick<Logger, 'error'> | undefined;
}

export function errorAnswer(err: Error, req: ErrorRequest): ErrorAnswer {
  let error: StrataError;
  // A tenant sees its own functions by the names it gave them, never the registry's qualified key.
  if (isStrataError(err)) error = publicError(err, req.tenant ?? 'default');
  else if (err instanceof HTTPException && err.status === 413)
    error = new StrataError('payload_too_large', 'the request body is too large');
  else if (err instanceof HTTPException)
    error = new StrataError(err.status === 401 ? 'unauthorized' : 'invalid_request', err.message);
  else {
    req.log?.error({ err }, 'unhandled error in the gateway');
    error = new StrataError('internal', `internal error: ${err.message}`);
  }
  const when = req.method !== 'GET' && DEPLOY.test(req.path) ? 'deploy' : 'invoke';
  const status = statusOf(error.code, when);
  const headers: Record<string, string> = {};
  if (status === 503 || (status === 429 && error.details?.retryAfterMs !== undefined)) {
    const retryMs = Number(error.details?.retryAfterMs ?? 1000);
    headers['Retry-After'] = String(Math.max(1, Math.ceil(retryMs / 1000)));
  }
  const allow = error.details?.allow;
  if (status === 405 && Array.isArray(allow)) headers.Allow = allow.join(', ');
  const body = error.toJSON();
  body.message = capText(body.message, MESSAGE_BYTES, 'error message');
  return { status, headers, body: { error: body } };
}

export function errorResponse(err: Error, c: Context<GatewayEnv>): Response {
  const answer = errorAnswer(err, { tenant: c.get('tenant'), method: c.req.method, path: c.req.path, log: c.var.log });
  for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
  return c.json(answer.body, answer.status);
}

/** Route patterns, each as a regular expression with the methods that serve it. */
export type RouteTable = { pattern: RegExp; methods: Set<string> }[];

/** Build the table from an app's registered routes (after every route is mounted). */
export function routeTable(routes: readonly { method: string; path: string }[]): RouteTable {
  const table = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const { method, path } of routes) {
    if (method === 'ALL' || path.includes('*')) continue;
    let entry = table.get(path);
    if (!entry) {
      const source = path
        .split('/')
        .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      entry = { pattern: new RegExp(`^${source}/?$`), methods: new Set() };
      table.set(path, entry);
    }
    entry.methods.add(method);
    if (method === 'GET') entry.methods.add('HEAD');
  }
  return [...table.values()];
}

/** 404 for an unknown path; 405 with Allow for a known path asked with another method. */
export function notFound(routes: () => RouteTable) {
  return (c: Context<GatewayEnv>): Response => {
    const allowed = new Set<string>();
    for (const { pattern, methods } of routes()) {
      if (pattern.test(c.req.path)) for (const m of methods) allowed.add(m);
    }
    if (allowed.size > 0 && !allowed.has(c.req.method)) {
      const allow = [...allowed].sort();
      return errorResponse(
        new StrataError(
          'method_not_allowed',
          `${c.req.method} is not served on ${c.req.path}; use ${allow.join(', ')}`,
          {
            allow,
          },
        ),
        c,
      );
    }
    return errorResponse(
      new StrataError('not_found', `no route ${c.req.method} ${c.req.path}; see GET /openapi.json`),
      c,
    );
  };
}
