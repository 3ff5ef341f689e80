/** Review one artifact by its runtime (rules in the sibling files), severities from config. */
import type { Config } from '../../config/schema.ts';
import type { Artifact, SandboxDriver } from '../../core/driver.ts';
import type { ResolvedLimits } from '../../core/limits.ts';
import { networkLevelOf } from '../../core/manifest.ts';
import { reviewContainer } from './container.ts';
import { reviewJs } from './js.ts';
import { reviewPython } from './python.ts';
import { shellcheck, shellRules } from './shell.ts';
import { judge, type RawFinding, type ReviewReport } from './types.ts';
import { reviewWasm } from './wasm.ts';

export * from './types.ts';

export interface ReviewContext {
  settings: Config['review'];
  /** The process tier, which runs the Python reviewer. */
  processDriver?: SandboxDriver | undefined;
  limits: ResolvedLimits;
}

export const AUTOMATIC_REVIEWER = 'strata-review';

export async function reviewArtifact(artifact: Artifact, ctx: ReviewContext): Promise<ReviewReport> {
  const m = artifact.manifest;
  const text = () => new TextDecoder().decode(artifact.code);
  let raw: RawFinding[] = [];
  if (m.runtime === 'js' || (m.runtime === 'script' && m.interpreter === 'node')) {
    raw = reviewJs(text(), ctx.settings);
  } else if (m.runtime === 'script' && (m.interpreter === 'bash' || m.interpreter === 'sh')) {
    const source = text();
    const checked = await shellcheck(source, m.interpreter);
    raw = [
      ...shellRules(source),
      ...(checked ?? [
        { rule: 'sh-review-unavailable', message: 'shellcheck is not installed (Debian package shellcheck)' },
      ]),
    ];
  } else if (m.runtime === 'script' && m.interpreter === 'python3') {
    raw = await reviewPython(text(), networkLevelOf(m.permissions.network) !== 'none', ctx.processDriver, ctx.limits);
  } else if (m.runtime === 'wasm') {
    raw = reviewWasm(artifact.code, ctx.settings.maxWasmBytes);
  } else if (m.runtime === 'container' && m.image) {
    raw = await reviewContainer(m.image);
  }
  return judge(raw, ctx.settings.rules, AUTOMATIC_REVIEWER);
}
