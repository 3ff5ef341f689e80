/**
 * A governed deploy: validate the manifest, check permissions and the signature over the digest,
 * review new content (a rejecting review refuses it: 422 review_rejected with the findings), let
 * the tier validate it, store it, and record the version's standing (pending when its trust
 * needs approval). A dry run (`?dryRun=1`) does the checks and the review and stores nothing, so
 * a client learns the digest to sign.
 */
import { StrataError } from '../core/errors.ts';
import type { Executor } from '../executor/executor.ts';
import { type DeployResult, deployFunction } from '../registry/deploy.ts';
import type { Deployment, Registry } from '../registry/registry.ts';
import type { Governance, VersionState } from './governance.ts';
import type { ReviewReport } from './review/index.ts';
import type { Signature } from './signing.ts';

export interface GovernedDeployInput {
  manifest: unknown;
  upload?: Uint8Array | undefined;
  signature?: unknown;
  dryRun?: boolean;
  /** The tenant deploying (its namespace) and its quota checks (src/tenants), run before anything is stored. */
  tenant?: string;
  check?: (plan: Deployment) => void;
}

export type GovernedDeployResult =
  | { dryRun: true; answer: Record<string, unknown> }
  | {
      dryRun: false;
      result: DeployResult;
      review?: ReviewReport | undefined;
      state?: VersionState;
      signature?: Signature | undefined;
    };

export async function governedDeploy(
  deps: { registry: Registry; executor: Executor; governance: Governance },
  input: GovernedDeployInput,
): Promise<GovernedDeployResult> {
  const { registry, executor, governance } = deps;
  const plan = registry.plan(input.manifest, input.upload, input.tenant);
  input.check?.(plan);
  governance.checkPermissions(plan.manifest);
  // A dry run is how a client learns the digest to sign: a signature is checked when given, never required.
  const signature =
    input.dryRun && input.signature === undefined
      ? undefined
      : governance.signer.check(plan.digest, plan.manifest.trust, input.signature);
  if (input.dryRun) {
    const artifact = registry.planArtifact(plan, registry.nextVersion(plan.manifest.name));
    const report = await governance.review(artifact, false);
    const placement = report.verdict === 'reject' ? undefined : await executor.validate(artifact);
    return {
      dryRun: true,
      answer: {
        dryRun: true,
        name: plan.manifest.name,
        digest: plan.digest,
        codeDigest: plan.codeDigest,
        trust: plan.manifest.trust,
        signatureRequired: governance.signer.required(plan.manifest.trust),
        ...(signature ? { signature } : {}),
        review: { verdict: report.verdict, findings: report.findings },
        ...(placement ? { tier: placement.tier } : {}),
        stored: false,
      },
    };
  }
  let review: ReviewReport | undefined;
  const result = await deployFunction(
    registry,
    input.manifest,
    input.upload,
    async (artifact) => {
      review = await governance.review(artifact, true);
      if (review.verdict === 'reject') {
        const rules = [...new Set(review.findings.filter((f) => f.severity === 'reject').map((f) => f.rule))];
        throw new StrataError(
          'review_rejected',
          `review rejected ${artifact.name}: ${rules.join(', ')}; see details.findings (rules and severities: review.rules)`,
          { findings: review.findings },
        );
      }
      return executor.validate(artifact);
    },
    { ...(input.tenant !== undefined ? { tenant: input.tenant } : {}), ...(input.check ? { check: input.check } : {}) },
  );
  if (!result.created) return { dryRun: false, result };
  const state = governance.recordVersion(result.fn, signature);
  return { dryRun: false, result, review: review ?? governance.reportOf(result.fn.digest), state, signature };
}
