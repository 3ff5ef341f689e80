/**
 * Tier choice as a pure function: (runtime, trust, network asked) -> the first tier of the policy
 * table that is built into this worker, can run the runtime and grant the network asked (its
 * declared capabilities, not its name), is not weaker than the trust's floor, and is available
 * now. Kept apart from anything that touches a tier.
 */
import type { DriverCapabilities, TierHealth } from '../core/driver.ts';
import type { ErrorInfo } from '../core/execution.ts';
import { type NetworkLevel, networkGrantable } from '../core/manifest.ts';
import { type Runtime, TIER_STRENGTH, type TierName, TRUST_LEVELS, type Trust } from '../core/tiers.ts';

export interface PolicyTable {
  table: Partial<Record<Runtime, Partial<Record<Trust, TierName[]>>>>;
  floor: Record<Trust, TierName>;
}

/** What placement may know of a tier: its declared capabilities and its health now. */
export interface TierView {
  capabilities: Pick<DriverCapabilities, 'runtimes' | 'network'>;
  health: TierHealth;
}

/**
 * Where a function goes. `requested` is the tier its trust level alone would pick (health
 * aside); `reason` says why `tier` differs from it.
 */
export type Placement =
  | { tier: TierName; requested: TierName | null; reason?: string }
  | { tier: null; requested: TierName | null; reason?: string; error: ErrorInfo };

export interface PlacementRequest {
  runtime: Runtime;
  trust: Trust;
  /** How much outbound network the manifest asks (default none). */
  network?: NetworkLevel;
  /** Place no weaker than this tier, e.g. after a review warning (governance); the reason is recorded. */
  escalate?: { atLeast: TierName; reason: string };
}

/**
 * @param tiers what each tier of this worker declares and how it is; undefined means the tier is
 *   not built into this worker (or disabled).
 */
export function pickTier(
  fn: PlacementRequest,
  policy: PolicyTable,
  tiers: (tier: TierName) => TierView | undefined,
): Placement {
  const own = policy.table[fn.runtime]?.[fn.trust] ?? [];
  // An escalated function may also use the tiers of the weaker trust levels' lists (stronger
  // isolation), after its own: trusted JS escalated past the isolate finds wasm in `standard`'s.
  const candidates = fn.escalate
    ? [
        ...new Set([
          ...own,
          ...TRUST_LEVELS.slice(TRUST_LEVELS.indexOf(fn.trust) + 1).flatMap((t) => policy.table[fn.runtime]?.[t] ?? []),
        ]),
      ]
    : own;
  const floorStrength = TIER_STRENGTH[policy.floor[fn.trust]];
  const network = fn.network ?? 'none';
  const atLeast = fn.escalate ? TIER_STRENGTH[fn.escalate.atLeast] : 0;
  let requested: TierName | null = null;
  /** Why the requested tier was passed over. */
  let requestedWhy = '';
  let reasons: string[] | undefined;
  let runsRuntime = false;
  let allowed = 0;
  for (const tier of candidates) {
    if (TIER_STRENGTH[tier] < floorStrength) continue;
    allowed++;
    const view = tiers(tier);
    let why: string | undefined;
    if (view === undefined) why = 'not built into this worker';
    else if (!view.capabilities.runtimes.includes(fn.runtime)) why = `cannot run "${fn.runtime}" functions`;
    else {
      runsRuntime = true;
      if (!networkGrantable(network, view.capabilities.network)) {
        why = `cannot grant ${network === 'all' ? 'network access' : 'a network allow-list'} (network: ${view.capabilities.network})`;
      } else {
        requested ??= tier;
        if (TIER_STRENGTH[tier] < atLeast) why = `below ${fn.escalate?.atLeast}`;
        else if (view.health.available) {
          if (tier === requested) return { tier, requested };
          const reason =
            fn.escalate && TIER_STRENGTH[requested] < atLeast
              ? fn.escalate.reason
              : `unavailable: ${requested} (${requestedWhy})`;
          return { tier, requested, reason };
        } else why = view.health.reason ?? 'unavailable';
        if (tier === requested) requestedWhy = why;
      }
    }
    reasons ??= [];
    reasons.push(`${tier}: ${why}`);
  }
  if (allowed === 0) {
    return refused(requested, {
      code: 'unsupported_runtime',
      message: `no tier runs ${fn.trust} "${fn.runtime}" functions under this node's policy (policy.table.${fn.runtime}.${fn.trust})`,
    });
  }
  const tried = candidates.filter((tier) => TIER_STRENGTH[tier] >= floorStrength).join(' or ');
  const detail = `(${(reasons ?? []).join('; ')})`;
  if (requested !== null) {
    return refused(requested, {
      code: 'tier_unavailable',
      message: `${fn.trust} "${fn.runtime}" functions need the ${tried} tier, and none is available here ${detail}`,
    });
  }
  if (runsRuntime) {
    return refused(null, {
      code: 'permission_denied',
      message: `permissions.network asks for ${network === 'all' ? 'outbound network' : 'a network allow-list'}, and no tier that may run ${fn.trust} "${fn.runtime}" functions here can grant it ${detail}; drop permissions.network or ask an operator`,
    });
  }
  return refused(null, {
    code: 'unsupported_runtime',
    message: `${fn.trust} "${fn.runtime}" functions need the ${tried} tier, and none here can run them ${detail}`,
  });
}

const refused = (requested: TierName | null, error: ErrorInfo): Placement => ({
  tier: null,
  requested,
  reason: error.message,
  error,
});
