/**
 * Placement on tiers executor plugins added, as a pure function: for a runtime the policy table
 * gives no tier, the first added tier that declares the runtime, can grant the network asked
 * and is available now. Built-in runtimes keep their policy table (and its trust floors).
 */
import type { SandboxDriver, TierHealth } from '../core/driver.ts';
import { networkGrantable } from '../core/manifest.ts';
import type { Placement, PlacementRequest } from './policy.ts';

export function pickExtraTier<D extends Pick<SandboxDriver, 'tier' | 'capabilities'>>(
  fn: Pick<PlacementRequest, 'runtime' | 'trust' | 'network'>,
  tiers: readonly D[],
  health: (driver: D) => TierHealth,
): Placement {
  const network = fn.network ?? 'none';
  const reasons: string[] = [];
  const requested = tiers[0]?.tier ?? null;
  for (const driver of tiers) {
    if (!networkGrantable(network, driver.capabilities.network)) {
      reasons.push(`${driver.tier}: cannot grant network (network: ${driver.capabilities.network})`);
      continue;
    }
    const h = health(driver);
    if (h.available)
      return driver.tier === requested
        ? { tier: driver.tier, requested }
        : { tier: driver.tier, requested, reason: `unavailable: ${reasons.join('; ')}` };
    reasons.push(`${driver.tier}: ${h.reason ?? 'unavailable'}`);
  }
  const error = {
    code: 'tier_unavailable' as const,
    message: `"${fn.runtime}" functions run on the ${tiers.map((t) => t.tier).join(' or ')} tier, and none is available here (${reasons.join('; ')})`,
  };
  return { tier: null, requested, reason: error.message, error };
}
