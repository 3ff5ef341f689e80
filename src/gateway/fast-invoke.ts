/**
 * A raw node:http path for the hottest route: a synchronous JSON invoke,
 * `POST /v1/functions/:name/invoke` with no query string. It skips Hono's Request/Response
 * conversion (a quarter of the main process's CPU per warm call) and runs the same steps, in
 * the same order, with the same functions as the Hono app: request id, auth and the route's
 * scope (middleware/auth.ts, deny audited), the body limit (413 on Content-Length up front or
 * while streaming), the function lookup (404), the depth guard and parse (400), the tenant's
 * rate bucket (429), the executor (admission, hooks, sandbox, the durable record committed
 * before the answer) and the one error mapping (error-handler.ts).
 *
 * Everything else goes to Hono: other routes and methods, any query (`?async`, `?version`,
 * `?callback`), a body that is not JSON (multipart…), names with percent-escapes or dots that a
 * URL parser would rewrite. test/gateway/fast-invoke.test.ts sends the same requests both ways.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Executor } from '../executor/executor.ts';
import type { Registry } from '../registry/registry.ts';
import { qualify } from '../tenants/namespace.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { errorAnswer } from './error-handler.ts';
import { auditEntry, authorize } from './middleware/auth.ts';
import { bodyTooLarge } from './middleware/body-limit.ts';
import { requestIdOf } from './middleware/request-id.ts';
import { jsonTextOf, unreadableBody } from './read-body.ts';
import { recordText, submitInvocation } from './routes/invoke.ts';
import { resolveRef } from './routes/resolve.ts';

/** The only URLs taken here: no query, a name that starts with a letter or digit (never `.`/`..`), no escapes. */
const INVOKE = /^\/v1\/functions\/([A-Za-z0-9][A-Za-z0-9@._-]*)\/invoke$/;

export interface FastInvokeOptions {
  registry: Registry;
  executor: Executor;
  tenants: Tenants;
  logger: Logger;
  bodyLimitBytes: number;
}

/** A node request handler that answers a plain sync invoke and returns true, or returns false (not ours). */
export type FastHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function fastInvoke(options: FastInvokeOptions): FastHandler {
  return (req, res) => {
    if (req.method !== 'POST' || req.url === undefined) return false;
    const match = INVOKE.exec(req.url);
    if (!match) return false;
    const type = req.headers['content-type'];
    if (type !== undefined && !type.includes('json')) return false;
    invoke(options, req, res, match[1] as string).catch((err) => {
      options.logger.error({ err }, 'unhandled error in the invoke fast path');
      res.destroy();
    });
    return true;
  };
}

/** The node listener of the gateway: the fast path first, Hono for everything it declines. */
export function gatewayListener(
  fetch: (request: Request) => Response | Promise<Response>,
  fast: FastHandler,
): RequestListener {
  const hono = getRequestListener(fetch);
  return (req, res) => {
    if (!fast(req, res)) void hono(req, res);
  };
}

async function invoke(options: FastInvokeOptions, req: IncomingMessage, res: ServerResponse, name: string) {
  const { registry, executor, tenants, logger, bodyLimitBytes } = options;
  const started = performance.now();
  const sent = req.headers['x-request-id'];
  const requestId = requestIdOf(typeof sent === 'string' ? sent : undefined);
  const path = `/v1/functions/${name}/invoke`;
  let tenant: string | undefined;
  let status: number;
  try {
    const decided = authorize(tenants, 'POST', path, req.headers.authorization);
    if (!decided.ok) {
      status = answerError(res, requestId, decided.error, undefined, path, logger);
      tenants.audit.append(
        auditEntry(
          { principal: decided.principal, client: req.socket.remoteAddress ?? null, requestId },
          {
            action: decided.route.audit ?? 'request',
            target: `POST ${path}`,
            result: 'denied',
            status,
            details: { code: decided.error.code },
          },
        ),
      );
      req.resume();
      return;
    }
    tenant = decided.principal.tenant;
    const length = req.headers['content-length'];
    if (length !== undefined && req.headers['transfer-encoding'] === undefined) {
      if (Number.parseInt(length, 10) > bodyLimitBytes) throw bodyTooLarge(bodyLimitBytes);
    }
    // Read (and limited) before the lookup: on Hono the body limit is middleware, so a streamed
    // body over the limit is a 413 even for an unknown function.
    const body = await readBody(req, bodyLimitBytes);
    const { fn, alias } = resolveRef(registry, qualify(tenant, name));
    const input = jsonTextOf(body);
    const submission = submitInvocation(
      { registry, executor, tenants },
      { tenant, fn, alias, input, durable: false, requestId },
    );
    const text = recordText(await submission.done);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'X-Request-Id': requestId,
    });
    res.end(text);
    status = 200;
  } catch (err) {
    status = answerError(res, requestId, err as Error, tenant, path, logger);
    req.resume();
  }
  if (logger.isLevelEnabled('debug')) {
    logger
      .child({ requestId })
      .debug({ method: 'POST', path, status, ms: +(performance.now() - started).toFixed(2) }, 'request');
  }
}

function answerError(
  res: ServerResponse,
  requestId: string,
  err: Error,
  tenant: string | undefined,
  path: string,
  logger: Logger,
): number {
  const answer = errorAnswer(err, { tenant, method: 'POST', path, log: logger.child({ requestId }) });
  if (res.headersSent) {
    res.destroy();
    return answer.status;
  }
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...answer.headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'X-Request-Id': requestId,
  });
  res.end(text);
  return answer.status;
}

/**
 * The body as text, counted as it streams (413 past the limit, like hono/body-limit); a stream
 * that fails is a 400. Decoded as fetch's Request.text() does: UTF-8, a leading BOM dropped.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done();
        reject(bodyTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      const text = (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8');
      resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    };
    const onFail = () => {
      done();
      reject(unreadableBody());
    };
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onFail);
      req.off('aborted', onFail);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onFail);
    req.on('aborted', onFail);
  });
}
