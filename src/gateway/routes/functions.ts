/** The function catalogue: deploy (JSON or multipart with a .wasm module), list, get, delete. */
import { Hono } from 'hono';
import { StrataError } from '../../core/errors.ts';
import type { Executor } from '../../executor/executor.ts';
import { governedDeploy } from '../../governance/deploy.ts';
import type { Governance } from '../../governance/governance.ts';
import { type DeployResult, deployFunction } from '../../registry/deploy.ts';
import { aliasesOf } from '../../registry/promote.ts';
import type { Deployment, FunctionVersion, Registry } from '../../registry/registry.ts';
import { qualify, tenantOfKey, unqualify } from '../../tenants/namespace.ts';
import { type GatewayEnv, tenantOfContext } from '../env.ts';
import { readForm, readJson } from '../read-body.ts';
import { parseVersion, resolveFunction } from './resolve.ts';

export { parseVersion };

export interface FunctionRoutesOptions {
  registry: Registry;
  executor: Executor;
  /** Review, signatures, approval (src/governance); without it deploys are only validated by their tier. */
  governance?: Governance;
}

/** What the API shows of a function version. */
export function describeFunction(fn: FunctionVersion, executor: Executor, extra: Record<string, unknown> = {}) {
  const { name: _name, ...manifest } = fn.manifest;
  const placement = executor.placementOf(fn);
  return {
    name: fn.name,
    version: fn.version,
    digest: fn.digest,
    tier: placement.tier,
    ...(placement.tier === null ? { placementError: placement.error } : {}),
    ...(placement.reason ? { placement } : {}),
    ...manifest,
    codeDigest: fn.codeDigest,
    codeSize: fn.codeSize,
    createdAt: fn.createdAt,
    ...extra,
  };
}

export function functionRoutes(options: FunctionRoutesOptions): Hono<GatewayEnv> {
  const { registry, executor, governance } = options;
  const app = new Hono<GatewayEnv>();

  const deploy = async (
    manifest: unknown,
    upload: Uint8Array | undefined,
    signature: unknown,
    dryRun: boolean,
    tenancy: { tenant: string; check: (plan: Deployment) => void },
  ): Promise<{ dry: Record<string, unknown> } | (DeployResult & { extra?: Record<string, unknown> })> => {
    if (!governance) {
      if (dryRun) throw new StrataError('invalid_request', 'this worker has no governance: dryRun is not offered');
      return deployFunction(registry, manifest, upload, (artifact) => executor.validate(artifact), tenancy);
    }
    const governed = await governedDeploy(
      { registry, executor, governance },
      { manifest, upload, signature, dryRun, ...tenancy },
    );
    if (governed.dryRun) return { dry: governed.answer };
    const { result, review, state, signature: signed } = governed;
    return {
      ...result,
      extra: {
        ...(review
          ? { review: { verdict: state === 'pending' ? 'pending' : review.verdict, findings: review.findings } }
          : {}),
        ...(state ? { reviewState: state } : {}),
        ...(signed ? { signature: signed } : {}),
      },
    };
  };

  app.post('/v1/functions', async (c) => {
    const tenant = tenantOfContext(c);
    const tenancy = { tenant, check: (plan: Deployment) => c.var.tenants?.checkDeploy(registry, tenant, plan) };
    const type = c.req.header('content-type') ?? '';
    const dryRun = ['1', 'true', ''].includes(c.req.query('dryRun') ?? 'no');
    let outcome: Awaited<ReturnType<typeof deploy>>;
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
      outcome = await deploy(manifest, upload, signatureField(form.signature), dryRun, tenancy);
    } else {
      const body = await readJson(c);
      // `signature` travels beside the manifest, not in it (it is not hashed).
      let signature: unknown;
      let manifest = body;
      if (body && typeof body === 'object' && !Array.isArray(body) && 'signature' in body) {
        const { signature: given, ...rest } = body as Record<string, unknown>;
        signature = given;
        manifest = rest;
      }
      outcome = await deploy(manifest, undefined, signature, dryRun, tenancy);
    }
    if ('dry' in outcome) return c.json(outcome.dry, 200);
    const result = outcome;
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
        ...(result.extra ?? {}),
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
        ...(governance ? governance.describe(fn) : {}),
      }),
    );
  });

  app.delete('/v1/functions/:name', (c) => {
    const removed = registry.delete(qualify(tenantOfContext(c), c.req.param('name')));
    for (const fn of removed) {
      const placement = executor.placementOf(fn);
      if (placement.tier) executor.driver(placement.tier)?.forget?.(fn.digest);
    }
    return c.json({ name: c.req.param('name'), deleted: removed.map((fn) => fn.version) });
  });

  return app;
}

/** The multipart `signature` field: JSON text `{keyId, sig}`. */
function signatureField(field: unknown): unknown {
  if (field === undefined) return undefined;
  if (typeof field !== 'string') throw new StrataError('invalid_request', 'the "signature" field must be JSON text');
  try {
    return JSON.parse(field);
  } catch {
    throw new StrataError('signature_invalid', 'the "signature" field must be JSON {"keyId", "sig"}');
  }
}

/** Where a deploy's compile time went, when the tier reported it (`compile: {cached, ms, steps}`). */
export function compileOf(reviewed: unknown): { compile?: unknown } {
  const compile = (reviewed as { compile?: unknown } | undefined)?.compile;
  return compile ? { compile } : {};
}
