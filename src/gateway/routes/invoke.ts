/**
 * POST /v1/functions/:name/invoke: run a function with the body as input. `:name` may name a
 * version or an alias (`hello@3`, `hello@prod`); `?async=1` answers 202 at once, and with
 * `&callback=URL` the finished record is POSTed there (signed, retried; src/callbacks).
 * The executor logs every invocation at info (request id, function, alias, status, duration).
 */
import { Hono } from 'hono';
import type { CallbackSender } from '../../callbacks/sender.ts';
import type { Artifact } from '../../core/driver.ts';
import { StrataError } from '../../core/errors.ts';
import type { ExecutionRecord } from '../../core/execution.ts';
import type { Executor } from '../../executor/executor.ts';
import { sealedJson } from '../../executor/record-seal.ts';
import type { Submission } from '../../executor/types.ts';
import type { FunctionVersion, Registry } from '../../registry/registry.ts';
import { qualify, unqualify } from '../../tenants/namespace.ts';
import type { Tenants } from '../../tenants/tenants.ts';
import { type GatewayEnv, tenantOfContext } from '../env.ts';
import { readJsonText } from '../read-body.ts';
import { resolveRef } from './resolve.ts';

export interface InvokeRoutesOptions {
  registry: Registry;
  executor: Executor;
  /** Delivers `?callback=` notifications; without it such requests are refused. */
  callbacks?: CallbackSender;
}

const truthy = (value: string | undefined) => value === '1' || value === 'true' || value === '';

/**
 * The artifact a tenant's invocation runs: its digest (tenant-specific, so never a warm sandbox of
 * another tenant) with the name the tenant knows, which the record and the function's ctx show.
 */
const publicArtifacts = new WeakMap<Artifact, Artifact>();
function publicArtifact(artifact: Artifact, tenant: string): Artifact {
  const name = unqualify(tenant, artifact.name);
  if (name === artifact.name) return artifact;
  let shown = publicArtifacts.get(artifact);
  if (!shown) {
    shown = { ...artifact, name, manifest: { ...artifact.manifest, name } };
    publicArtifacts.set(artifact, shown);
  }
  return shown;
}

/**
 * The steps after the body is read, shared with the raw invoke fast path (fast-invoke.ts): the
 * tenant's rate bucket (429), then the executor (admission, hooks, sandbox, durable record).
 */
export function submitInvocation(
  deps: { registry: Registry; executor: Executor; tenants: Tenants | undefined },
  call: {
    tenant: string;
    fn: FunctionVersion;
    alias: string | undefined;
    input: { value: unknown; text: string };
    durable: boolean;
    requestId: string;
  },
): Submission {
  deps.tenants?.takeInvocation(call.tenant);
  return deps.executor.submit({
    artifact: publicArtifact(deps.registry.artifact(call.fn), call.tenant),
    tenant: call.tenant,
    input: call.input.value,
    inputJson: call.input.text,
    source: 'http',
    durable: call.durable,
    requestId: call.requestId,
    ...(call.alias !== undefined ? { alias: call.alias } : {}),
  });
}

/** A finished record as the answer's text: as it was sealed and stored (no second serialisation, never one that throws). */
export const recordText = (record: ExecutionRecord): string => sealedJson(record) ?? JSON.stringify(record);

export function invokeRoutes(options: InvokeRoutesOptions): Hono<GatewayEnv> {
  const { registry, executor, callbacks } = options;
  const app = new Hono<GatewayEnv>();
  app.post('/v1/functions/:name/invoke', async (c) => {
    const tenant = tenantOfContext(c);
    const { fn, alias } = resolveRef(registry, qualify(tenant, c.req.param('name')), c.req.query('version'));
    const isAsync = truthy(c.req.query('async'));
    const callback = c.req.query('callback');
    if (callback !== undefined) {
      if (!isAsync)
        throw new StrataError('invalid_request', 'callback= needs async=1 (a sync invoke answers with the record)');
      if (!callbacks) throw new StrataError('invalid_request', 'this worker does not deliver callbacks');
      await callbacks.check(callback);
    }
    const input = await readJsonText(c);
    const submission = submitInvocation(
      { registry, executor, tenants: c.var.tenants },
      { tenant, fn, alias, input, durable: isAsync, requestId: c.var.requestId },
    );
    if (isAsync) {
      if (callback !== undefined && callbacks) {
        void submission.done.then((record) => callbacks.deliver(callback, record, c.var.requestId));
      }
      c.header('Location', `/v1/executions/${submission.id}`);
      return c.json({ executionId: submission.id }, 202);
    }
    const record = await submission.done;
    return c.body(recordText(record), 200, { 'Content-Type': 'application/json' });
  });
  return app;
}
