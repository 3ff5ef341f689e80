/** The reference Master's HTTP API (DESIGN.md "Reference Master"). */
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorCode, isStrataError } from '../core/errors.ts';
import { statusOf } from '../gateway/error-handler.ts';
import { MASTER_KEY_ROUTES, MASTER_ROUTES } from '../gateway/openapi/master-routes.ts';
import { dashboardRoutes, referenceRoutes } from '../gateway/routes/reference.ts';
import { parseSignature } from '../governance/artifact-signatures.ts';
import { unqualify } from '../tenants/namespace.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { catalogueName, type MasterEnv, masterAuth, masterKeyRoutes, ownTask, tenantOfRequest } from './auth.ts';
import type { MasterCore, SubmitTask } from './master.ts';

const errorBody = (code: string, message: string) => ({ error: { code, message } });

export function masterHttpApp(master: MasterCore, options: { bodyLimit: number; tenants?: Tenants }): Hono<MasterEnv> {
  const app = new Hono<MasterEnv>();
  app.onError((err, c) => {
    // The one code -> status map of the worker gateway (src/core/errors.ts httpStatusOf).
    if (isStrataError(err)) return c.json(errorBody(err.code, err.message), statusOf(err.code));
    master.log.warn({ err: err.message }, 'master http error');
    return c.json(errorBody('internal', err.message), 500);
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: options.bodyLimit,
      onError: (c) => c.json(errorBody('payload_too_large', `the body is larger than ${options.bodyLimit} bytes`), 413),
    }),
  );

  // Keys and scopes as on the worker (src/master/auth.ts); open while no key is configured.
  app.use('*', masterAuth(options.tenants));
  app.get('/healthz', (c) => c.json({ status: 'ok', masterId: master.masterId }));
  app.route('/', masterKeyRoutes(options.tenants));

  app.post('/v1/functions', async (c) => {
    const type = c.req.header('content-type') ?? '';
    let manifest: unknown;
    let code: Uint8Array | undefined;
    // `signature` travels beside the manifest (not hashed), as on a worker; it goes out with the artifact.
    let signature: unknown;
    if (type.startsWith('multipart/form-data')) {
      const form = await c.req.formData();
      const text = form.get('manifest');
      if (typeof text !== 'string')
        return c.json(errorBody('invalid_request', 'field "manifest" (JSON) is required'), 400);
      manifest = parseJson(text);
      const sig = form.get('signature');
      if (typeof sig === 'string') signature = parseJson(sig) ?? sig;
      const module = form.get('module');
      if (module && typeof module !== 'string') code = new Uint8Array(await module.arrayBuffer());
    } else {
      manifest = parseJson(await c.req.text());
      if (manifest && typeof manifest === 'object' && 'signature' in manifest) {
        ({ signature, ...manifest } = manifest as Record<string, unknown>);
      }
    }
    if (manifest === undefined) return c.json(errorBody('invalid_request', 'the manifest is not valid JSON'), 400);
    const signed = signature === undefined ? undefined : parseSignature(signature);
    const tenant = tenantOfRequest(c);
    const { created, fn } = await master.catalogue.deploy(manifest, code, tenant, signed);
    if (signed) master.signatures.set(fn.digest, signed);
    return c.json(
      {
        name: unqualify(tenant, fn.name),
        version: fn.version,
        digest: fn.digest,
        created,
        ...(signed ? { signature: signed } : {}),
      },
      created ? 201 : 200,
    );
  });

  app.post('/v1/tasks', async (c) => {
    const body = parseJson(await c.req.text());
    // An array submits a batch in one commit: 202 {taskIds}.
    const list = Array.isArray(body) ? body : [body];
    const requests = list.map(taskRequest).map((r) => (r ? { ...r, function: catalogueName(c, r.function) } : r));
    if (list.length === 0 || requests.some((r) => r === undefined))
      return c.json(
        errorBody('invalid_request', 'body must be {"function": "<name>", "input": ...} or an array of them'),
        400,
      );
    const ids = await master.submitDurable(requests as SubmitTask[]);
    return Array.isArray(body) ? c.json({ taskIds: ids }, 202) : c.json({ taskId: ids[0] }, 202);
  });

  app.get('/v1/tasks/:id', async (c) => {
    const view = ownTask(c, await master.lookup(c.req.param('id')));
    return view ? c.json(view) : c.json(errorBody('not_found', `no task ${c.req.param('id')}`), 404);
  });

  app.get('/v1/tasks/:id/logs', async (c) => {
    const logs = (await own(c)) ? await master.logsOf(c.req.param('id')) : undefined;
    return logs === undefined
      ? c.json(errorBody('not_found', `no task ${c.req.param('id')}`), 404)
      : c.text(logs, 200, { 'content-type': 'text/plain; charset=utf-8' });
  });

  const controlReply = (reply: { ok: boolean; code: string; message: string }) =>
    reply.ok ? ({ ok: true } as const) : errorBody(reply.code || 'internal', reply.message);
  const statusOfReply = (reply: { ok: boolean; code: string }): ContentfulStatusCode =>
    reply.ok ? 200 : statusOf((reply.code || 'internal') as ErrorCode, 'control');

  // Another tenant's task answers as a missing one.
  const own = async (c: Context<MasterEnv>) => ownTask(c, await master.lookup(c.req.param('id') as string));
  const missing = (c: Context<MasterEnv>) => c.json(errorBody('not_found', `no task ${c.req.param('id')}`), 404);
  app.post('/v1/tasks/:id/cancel', async (c) => {
    if (!(await own(c))) return missing(c);
    const reply = await master.cancelTask(c.req.param('id'));
    return c.json(controlReply(reply), statusOfReply(reply));
  });
  for (const what of ['pause', 'resume'] as const) {
    app.post(`/v1/tasks/:id/${what}`, async (c) => {
      if (!(await own(c))) return missing(c);
      const reply = await master.pauseOrResume(c.req.param('id'), what);
      return c.json(controlReply(reply), statusOfReply(reply));
    });
  }

  app.get('/v1/workers', async (c) => c.json(await master.allWorkerViews()));
  app.post('/v1/workers/:id/drain', async (c) => {
    const reply = await master.drainWorker(c.req.param('id'));
    return c.json(controlReply(reply), statusOfReply(reply));
  });
  app.post('/v1/workers/:id/config', async (c) => {
    const body = parseJson(await c.req.text());
    if (!body || typeof body !== 'object')
      return c.json(errorBody('invalid_request', 'body must be a JSON object'), 400);
    const reply = await master.configureWorker(c.req.param('id'), body as Record<string, unknown>);
    return c.json(controlReply(reply), statusOfReply(reply));
  });

  app.get('/metrics', async (c) => {
    // From the store: on PostgreSQL every Master reports the same counts.
    const counts = await master.backend.countByStatus();
    const lines = [
      '# HELP strata_master_tasks Tasks by status.',
      '# TYPE strata_master_tasks gauge',
      ...Object.entries(counts).map(([s, n]) => `strata_master_tasks{status="${s}"} ${n}`),
      '# HELP strata_master_workers Workers by status and dispatch mode.',
      '# TYPE strata_master_workers gauge',
      ...master.workerViews().map((w) => `strata_master_workers{id="${w.id}",status="${w.status}",mode="${w.mode}"} 1`),
      '# TYPE strata_master_workers_lost_total counter',
      `strata_master_workers_lost_total ${master.lostCount}`,
      '# TYPE strata_master_results_refused_total counter',
      `strata_master_results_refused_total{reason="duplicate"} ${master.duplicateResults}`,
      `strata_master_results_refused_total{reason="fenced"} ${master.fencedResults}`,
    ];
    return c.text(`${lines.join('\n')}\n`, 200, { 'content-type': 'text/plain; version=0.0.4' });
  });

  // Ship and show: the API document, its reference page and the dashboard (src/gateway/routes/reference.ts).
  app.route(
    '/',
    referenceRoutes(options.tenants ? [...MASTER_ROUTES, ...MASTER_KEY_ROUTES] : MASTER_ROUTES, {
      title: 'Strata Master API',
      version: '1',
      description: 'The reference Master: catalogue, tasks, workers.',
    }),
  );
  app.route('/', dashboardRoutes('master'));
  app.notFound((c) =>
    c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}; see GET /openapi.json`), 404),
  );
  return app;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function taskRequest(value: unknown): SubmitTask | undefined {
  const body = value as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object' || typeof body.function !== 'string') return undefined;
  const labels = body.labels;
  return {
    function: body.function,
    input: body.input,
    ...(num(body.version) !== undefined ? { version: num(body.version) } : {}),
    ...(num(body.priority) !== undefined ? { priority: num(body.priority) } : {}),
    ...(num(body.timeoutMs) !== undefined ? { timeoutMs: num(body.timeoutMs) } : {}),
    ...(labels && typeof labels === 'object' && !Array.isArray(labels)
      ? { labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])) }
      : {}),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
