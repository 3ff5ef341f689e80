/**
 * Deploying a function: validate the manifest, and for a new version let its tier review the
 * code (compile, check imports, transform) before anything is stored, so a function that can
 * never run is refused with 400 and leaves nothing behind.
 */
import type { Artifact } from '../core/driver.ts';
import type { FunctionVersion, Registry } from './registry.ts';

export interface DeployResult {
  created: boolean;
  fn: FunctionVersion;
}

export async function deployFunction(
  registry: Registry,
  manifestInput: unknown,
  upload: Uint8Array | undefined,
  review: (artifact: Artifact) => Promise<unknown>,
): Promise<DeployResult> {
  const plan = registry.plan(manifestInput, upload);
  const existing = registry.existing(plan);
  if (existing) return { created: false, fn: existing };
  await review(registry.planArtifact(plan, registry.nextVersion(plan.manifest.name)));
  return registry.store(plan);
}
