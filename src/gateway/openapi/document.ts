/**
 * The OpenAPI 3.1 document, generated (with @hono/zod-openapi's registry) from a route table whose
 * request and response schemas are zod: the same schemas the routes validate with where a route
 * has one (manifests, the executions query), and descriptive ones for the answers. A route the
 * app serves that the table lacks shows up in the document test (test/ship/openapi.test.ts).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { type ErrorCode, httpStatusOf } from '../../core/errors.ts';

/** One route of the table. `path` is Hono's (`/v1/functions/:name`). */
export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  tag: string;
  description?: string;
  query?: z.ZodObject;
  /** JSON body schema, or another media type with its schema. */
  body?: z.ZodType | { contentType: string; schema: z.ZodType; description?: string };
  /** Status -> answer; `schema` for JSON, or `contentType` with an optional schema. */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /** Error codes the route answers with (their statuses come from httpStatusOf). */
  errors?: ErrorCode[];
  /** Served without the bearer token (/healthz, /metrics, the pages). */
  public?: boolean;
}

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('one of the codes in src/core/errors.ts'),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });

const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const paramNames = (path: string) => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
}

/** Build the document of a route table. */
export function openApiDocument(routes: readonly ApiRoute[], info: DocumentInfo): Record<string, unknown> {
  const app = new OpenAPIHono();
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  for (const route of routes) {
    const names = paramNames(route.path);
    const request: Record<string, unknown> = {};
    if (names.length > 0) request.params = z.object(Object.fromEntries(names.map((n) => [n, z.string()])));
    if (route.query) request.query = route.query;
    if (route.body) {
      const body =
        route.body instanceof z.ZodType ? { contentType: 'application/json', schema: route.body } : route.body;
      request.body = {
        required: true,
        ...('description' in body && body.description ? { description: body.description } : {}),
        content: { [body.contentType]: { schema: body.schema } },
      };
    }
    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(route.responses)) {
      const type = answer.contentType ?? 'application/json';
      responses[status] = {
        description: answer.description,
        ...(answer.schema || type !== 'application/json'
          ? { content: { [type]: { schema: answer.schema ?? z.string() } } }
          : {}),
      };
    }
    const codes = new Map<number, ErrorCode[]>();
    const errors: ErrorCode[] = [...(route.errors ?? []), ...(route.public ? [] : (['unauthorized'] as const))];
    for (const code of new Set(errors)) {
      const status = httpStatusOf(code);
      codes.set(status, [...(codes.get(status) ?? []), code]);
    }
    for (const [status, list] of [...codes].sort((a, b) => a[0] - b[0])) {
      responses[String(status)] = {
        description: `error: ${list.join(', ')}`,
        content: { 'application/json': { schema: errorSchema } },
      };
    }
    app.openAPIRegistry.registerPath({
      method: route.method,
      path: openApiPath(route.path),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(route.public ? { security: [] } : {}),
      request,
      responses,
    } as Parameters<typeof app.openAPIRegistry.registerPath>[0]);
  }
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { ...info },
    security: [{ bearer: [] }],
  }) as unknown as Record<string, unknown>;
}

/** Hono paths of a document (`/v1/functions/{name}` -> `/v1/functions/:name`), with their methods. */
export function documentedRoutes(document: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const paths = (document.paths ?? {}) as Record<string, Record<string, unknown>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of Object.keys(item)) out.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`);
  }
  return out;
}
