/**
 * Deploying a function: validate the manifest, and for content never seen let its tier review
 * the code (compile, check imports, transform) before anything is stored, so a function that can
 * never run is refused with 400 and leaves nothing behind. Content an older version already has
 * was reviewed then; it becomes a new version that `latest` points at (Registry.store).
 */
import type { Artifact } from '../core/driver.ts';
import type { Deployment, Registry, StoreResult } from './registry.ts';

/** What was stored, and what the tier's review (validate) answered for content never seen. */
export type DeployResult = StoreResult & { reviewed?: unknown };

export async function deployFunction(
  registry: Registry,
  manifestInput: unknown,
  upload: Uint8Array | undefined,
  review: (artifact: Artifact) => Promise<unknown>,
  /** The tenant deploying (its namespace) and its quota checks, run before anything is stored. */
  options: { tenant?: string; check?: (plan: Deployment) => void } = {},
): Promise<DeployResult> {
  const plan = registry.plan(manifestInput, upload, options.tenant);
  options.check?.(plan);
  const latest = registry.latest(plan.manifest.name);
  if (latest?.digest === plan.digest) return { created: false, fn: latest };
  if (registry.existing(plan)) return registry.store(plan);
  const reviewed = await review(registry.planArtifact(plan, registry.nextVersion(plan.manifest.name)));
  return { ...registry.store(plan), reviewed };
}
