/** The reference Master's routes for its OpenAPI document (src/master/http.ts). A new route is added here too. */
import { z } from 'zod';
import { manifestSchema } from '../../core/manifest.ts';
import { ADMIN_ROUTES } from './admin-routes.ts';
import type { ApiRoute } from './document.ts';

const taskBody = z.object({
  function: z.string(),
  input: z.unknown().optional(),
  version: z.number().int().optional(),
  priority: z.number().optional(),
  timeoutMs: z.number().int().optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

const taskSchema = z
  .looseObject({
    taskId: z.string(),
    status: z.string(),
    result: z.unknown().optional(),
    error: z.unknown().optional(),
    workerId: z.string().nullable(),
    attempt: z.number().int(),
  })
  .meta({ id: 'Task' });

const workerSchema = z
  .looseObject({
    id: z.string(),
    status: z.enum(['ok', 'degraded', 'maintenance', 'lost']),
    lastHeartbeatAt: z.unknown(),
    mode: z.string(),
    runningTasks: z.number(),
    freeSlots: z.number(),
  })
  .meta({ id: 'Worker' });

const ok = z.object({ ok: z.literal(true) });
const html = { contentType: 'text/html' } as const;
const control = (summary: string, path: string): ApiRoute => ({
  method: 'post',
  path,
  tag: path.includes('workers') ? 'workers' : 'tasks',
  summary,
  responses: { 200: { description: 'done', schema: ok } },
  errors: ['not_found', 'conflict'],
});

export const MASTER_ROUTES: readonly ApiRoute[] = [
  {
    method: 'get',
    path: '/healthz',
    tag: 'health',
    summary: 'Liveness',
    public: true,
    responses: {
      200: { description: 'serving', schema: z.looseObject({ status: z.literal('ok'), masterId: z.string() }) },
    },
  },
  {
    method: 'post',
    path: '/v1/functions',
    tag: 'functions',
    summary: 'Deploy a function to the catalogue (JSON manifest, or multipart `manifest` + `module`)',
    body: manifestSchema,
    responses: {
      201: {
        description: 'a new version',
        schema: z.object({ name: z.string(), version: z.number(), digest: z.string(), created: z.boolean() }),
      },
      200: {
        description: 'an existing version',
        schema: z.object({ name: z.string(), version: z.number(), digest: z.string(), created: z.boolean() }),
      },
    },
    errors: ['invalid_request', 'invalid_manifest', 'payload_too_large'],
  },
  {
    method: 'post',
    path: '/v1/tasks',
    tag: 'tasks',
    summary: 'Submit a task (or an array of tasks)',
    body: z.union([taskBody, z.array(taskBody)]),
    responses: {
      202: {
        description: '{taskId}, or {taskIds} for an array',
        schema: z.union([z.object({ taskId: z.string() }), z.object({ taskIds: z.array(z.string()) })]),
      },
    },
    errors: ['invalid_request', 'not_found'],
  },
  {
    method: 'get',
    path: '/v1/tasks/:id',
    tag: 'tasks',
    summary: 'One task',
    responses: { 200: { description: 'the task', schema: taskSchema } },
    errors: ['not_found'],
  },
  {
    method: 'get',
    path: '/v1/tasks/:id/logs',
    tag: 'tasks',
    summary: "A task's logs (text)",
    responses: { 200: { description: 'log text', contentType: 'text/plain' } },
    errors: ['not_found'],
  },
  control('Cancel a task', '/v1/tasks/:id/cancel'),
  control('Pause a task', '/v1/tasks/:id/pause'),
  control('Resume a task', '/v1/tasks/:id/resume'),
  {
    method: 'get',
    path: '/v1/workers',
    tag: 'workers',
    summary: 'Workers with status, mode, load and last heartbeat',
    responses: { 200: { description: 'workers', schema: z.array(workerSchema) } },
  },
  control('Drain a worker', '/v1/workers/:id/drain'),
  {
    method: 'post',
    path: '/v1/workers/:id/config',
    tag: 'workers',
    summary: "Change a worker's settings at run time",
    body: z.record(z.string(), z.unknown()),
    responses: { 200: { description: 'applied', schema: ok } },
    errors: ['invalid_request', 'not_found', 'conflict'],
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'health',
    summary: 'Prometheus metrics (tasks by status, workers, refused results)',
    public: true,
    responses: { 200: { description: 'text exposition format', contentType: 'text/plain' } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    tag: 'reference',
    summary: 'This document',
    public: true,
    responses: { 200: { description: 'OpenAPI 3.1', schema: z.looseObject({ openapi: z.string() }) } },
  },
  {
    method: 'get',
    path: '/docs',
    tag: 'reference',
    summary: 'The API reference page',
    public: true,
    responses: { 200: { description: 'HTML', ...html } },
  },
  {
    method: 'get',
    path: '/docs/assets/:file',
    tag: 'reference',
    summary: "The reference page's assets",
    public: true,
    responses: { 200: { description: 'a static file', contentType: 'application/octet-stream' } },
    errors: ['not_found'],
  },
  {
    method: 'get',
    path: '/ui',
    tag: 'dashboard',
    summary: 'The Master dashboard',
    public: true,
    responses: { 200: { description: 'HTML', ...html } },
  },
  {
    method: 'get',
    path: '/ui/assets/:file',
    tag: 'dashboard',
    summary: "The dashboard's assets",
    public: true,
    responses: { 200: { description: 'a static file', contentType: 'application/octet-stream' } },
    errors: ['not_found'],
  },
];

/** The Master's key routes (src/master/auth.ts), the worker's contract; served when the Master has tenants. */
export const MASTER_KEY_ROUTES: readonly ApiRoute[] = ADMIN_ROUTES.filter((r) => r.path.startsWith('/v1/keys'));
