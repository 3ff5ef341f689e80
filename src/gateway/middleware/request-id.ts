import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { GatewayEnv } from '../env.ts';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of a request: the client's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(sent: string | undefined): string {
  return sent && CLIENT_ID.test(sent) ? sent : randomUUID();
}

/** A request id on every response (X-Request-Id, the client's when it sent a sane one) and log line. */
export function requestId(options: { logger: Logger }): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const id = requestIdOf(c.req.header('x-request-id'));
    c.set('requestId', id);
    c.set('log', options.logger.child({ requestId: id }));
    c.header('X-Request-Id', id);
    const started = performance.now();
    await next();
    c.var.log.debug(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: +(performance.now() - started).toFixed(2) },
      'request',
    );
  };
}
