/** The function catalogue: deploy (JSON or multipart with a .wasm module), list, get, delete. */
import { Hono } from 'hono';
import { StrataError } from '../../core/errors.ts';
import type { Executor } from '../../executor/executor.ts';
import { deployFunction } from '../../registry/deploy.ts';
import { aliasesOf } from '../../registry/promote.ts';
import type { FunctionVersion, Registry } from '../../registry/registry.ts';
import { qualify, tenantOfKey, unqualify } from '../../tenants/namespace.ts';
import { type GatewayEnv, tenantOfContext } from '../env.ts';
import { readForm, readJson } from '../read-body.ts';
import { parseVersion, resolveFunction } from './resolve.ts';

export { parseVersion };

export interface FunctionRoutesOptions {
  registry: Registry;
  executor: Executor;
}

/** What the API shows of a function version. */
export function describeFunction(fn: FunctionVersion, executor: Executor, extra: Record<string, unknown> = {}) {
  const { name: _name, ...manifest } = fn.manifest;
  const placement = executor.placement(fn.manifest);
  return {
    name: fn.name,
    version: fn.version,
    digest: fn.digest,
    tier: placement.tier,
    ...(placement.tier === null ? { placementError: placement.error } : {}),
    ...manifest,
    codeDigest: fn.codeDigest,
    codeSize: fn.codeSize,
    createdAt: fn.createdAt,
    ...extra,
  };
}

export function functionRoutes(options: FunctionRoutesOptions): Hono<GatewayEnv> {
  const { registry, executor } = options;
  const app = new Hono<GatewayEnv>();

  app.post('/v1/functions', async (c) => {
    const tenant = tenantOfContext(c);
    const deploy = (manifest: unknown, upload?: Uint8Array) =>
      deployFunction(registry, manifest, upload, (artifact) => executor.validate(artifact), {
        tenant,
        check: (plan) => c.var.tenants?.checkDeploy(registry, tenant, plan),
      });
    const type = c.req.header('content-type') ?? '';
    let result: Awaited<ReturnType<typeof deploy>>;
    if (type.toLowerCase().startsWith('multipart/form-data')) {
      const form = await readForm(c);
      const manifestField = form.manifest;
      if (Array.isArray(manifestField)) throw new StrataError('invalid_request', 'send one "manifest" field');
      const text = typeof manifestField === 'string' ? manifestField : await manifestField?.text();
      if (!text) throw new StrataError('invalid_request', 'the multipart body needs a "manifest" field (JSON)');
      let manifest: unknown;
      try {
        manifest = JSON.parse(text);
      } catch {
        throw new StrataError('invalid_request', 'the "manifest" field must be JSON');
      }
      const module = form.module;
      if (module !== undefined && (typeof module === 'string' || Array.isArray(module))) {
        throw new StrataError('invalid_request', 'the "module" field must be one file (the .wasm bytes)');
      }
      const upload = module ? new Uint8Array(await module.arrayBuffer()) : undefined;
      result = await deploy(manifest, upload);
    } else {
      result = await deploy(await readJson(c));
    }
    c.var.log.info(
      { function: result.fn.name, version: result.fn.version, created: result.created },
      'function deployed',
    );
    return c.json(
      describeFunction(result.fn, executor, {
        name: unqualify(tenant, result.fn.name),
        created: result.created,
        ...(result.sameAs !== undefined ? { sameAs: result.sameAs } : {}),
        ...compileOf(result.reviewed),
      }),
      result.created ? 201 : 200,
    );
  });

  app.get('/v1/functions', (c) => {
    const tenant = tenantOfContext(c);
    const own = registry.list().filter((fn) => tenantOfKey(fn.name) === tenant);
    return c.json({
      functions: own.map((fn) => describeFunction(fn, executor, { name: unqualify(tenant, fn.name) })),
    });
  });

  app.get('/v1/functions/:name', (c) => {
    const tenant = tenantOfContext(c);
    const fn = resolveFunction(registry, qualify(tenant, c.req.param('name')), c.req.query('version'));
    const textual = fn.manifest.runtime === 'js' || fn.manifest.runtime === 'script';
    return c.json(
      describeFunction(fn, executor, {
        name: unqualify(tenant, fn.name),
        versions: registry.versions(fn.name).map((v) => v.version),
        aliases: Object.fromEntries(aliasesOf(registry, fn.name).map((a) => [a.alias, a.version])),
        ...(textual ? { source: new TextDecoder().decode(registry.code(fn)) } : {}),
      }),
    );
  });

  app.delete('/v1/functions/:name', (c) => {
    const removed = registry.delete(qualify(tenantOfContext(c), c.req.param('name')));
    for (const fn of removed) {
      const placement = executor.placement(fn.manifest);
      if (placement.tier) executor.driver(placement.tier)?.forget?.(fn.digest);
    }
    return c.json({ name: c.req.param('name'), deleted: removed.map((fn) => fn.version) });
  });

  return app;
}

/** Where a deploy's compile time went, when the tier reported it (`compile: {cached, ms, steps}`). */
export function compileOf(reviewed: unknown): { compile?: unknown } {
  const compile = (reviewed as { compile?: unknown } | undefined)?.compile;
  return compile ? { compile } : {};
}
