/**
 * 404 or 405: a path no route knows is 404; a path some route knows for other methods is 405
 * with an `Allow` header listing them (RFC 9110 §15.5.6). Computed from the app's own route
 * table at request time, so routes mounted later (extra route groups) count too.
 */
import type { Context, Hono } from 'hono';
import { StrataError } from '../core/errors.ts';
import type { GatewayEnv } from './env.ts';
import { errorResponse } from './error-handler.ts';

const escapeRegExp = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** A Hono path pattern ('/v1/functions/:name/invoke', '/v1/*') as a RegExp. */
export function patternOf(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      const param = /^:[A-Za-z0-9_]+(?:\{(.+)\})?(\?)?$/.exec(segment);
      if (param) return param[1] ? `(?:${param[1]})` : '[^/]+';
      return escapeRegExp(segment).replace(/\\\*|\*/g, '.*');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** Methods routes (not middleware) answer at `path`; GET implies HEAD. */
export function allowedMethods(routes: readonly { method: string; path: string }[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === 'ALL') continue;
    if (patternOf(route.path).test(path)) methods.add(route.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

export function notFoundOrMethod(app: Hono<GatewayEnv>) {
  return (c: Context<GatewayEnv>): Response => {
    const allow = allowedMethods(app.routes, c.req.path);
    if (allow.length === 0) {
      return errorResponse(
        new StrataError('not_found', `no route ${c.req.method} ${c.req.path}; see GET /openapi.json`),
        c,
      );
    }
    c.header('Allow', allow.join(', '));
    return errorResponse(
      new StrataError(
        'method_not_allowed',
        `${c.req.method} is not allowed on ${c.req.path}; use ${allow.join(', ')}`,
        {
          allow,
        },
      ),
      c,
    );
  };
}
