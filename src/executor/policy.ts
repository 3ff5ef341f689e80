/**
 * Tier choice as a pure function: (runtime, trust) -> the first available tier in the policy
 * table, never one weaker than the trust's floor. Kept apart from anything that touches a tier.
 */
import type { TierHealth } from '../core/driver.ts';
import type { ErrorInfo } from '../core/execution.ts';
import { type Runtime, TIER_STRENGTH, type TierName, type Trust } from '../core/tiers.ts';

export interface PolicyTable {
  table: Partial<Record<Runtime, Partial<Record<Trust, TierName[]>>>>;
  floor: Record<Trust, TierName>;
}

export type Placement = { tier: TierName } | { tier: null; error: ErrorInfo };

/**
 * @param health the health of each tier this worker has; a tier missing here does not exist on
 *   this worker (not built or disabled).
 */
export function pickTier(
  fn: { runtime: Runtime; trust: Trust },
  policy: PolicyTable,
  health: Partial<Record<TierName, TierHealth>> | ((tier: TierName) => TierHealth | undefined),
): Placement {
  const healthOf = typeof health === 'function' ? health : (tier: TierName) => health[tier];
  const candidates = policy.table[fn.runtime]?.[fn.trust] ?? [];
  const floor = policy.floor[fn.trust];
  const allowed = candidates.filter((tier) => TIER_STRENGTH[tier] >= TIER_STRENGTH[floor]);
  if (allowed.length === 0) {
    return {
      tier: null,
      error: {
        code: 'unsupported_runtime',
        message: `no tier runs ${fn.trust} "${fn.runtime}" functions under this node's policy (policy.table.${fn.runtime}.${fn.trust})`,
      },
    };
  }
  const reasons: string[] = [];
  for (const tier of allowed) {
    const h = healthOf(tier);
    if (h?.available) return { tier };
    reasons.push(`${tier}: ${h ? (h.reason ?? 'unavailable') : 'not built into this worker'}`);
  }
  const exists = allowed.some((tier) => healthOf(tier) !== undefined);
  return {
    tier: null,
    error: {
      code: exists ? 'tier_unavailable' : 'unsupported_runtime',
      message: `${fn.trust} "${fn.runtime}" functions need the ${allowed.join(' or ')} tier, and none is available here (${reasons.join('; ')})`,
    },
  };
}
