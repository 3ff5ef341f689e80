/**
 * A tenant's ceilings on limits (quota.maxLimits) against what a function will get: its asks, or
 * the node's defaults where it asks nothing (a function that leaves cpu unset may use every core,
 * so a cpu ceiling needs an explicit ask).
 */
import type { Config } from '../config/schema.ts';
import { StrataError } from '../core/errors.ts';
import type { Limits } from '../core/limits.ts';
import { resolveLimits } from '../executor/limits.ts';
import type { Quota } from './quota.ts';

type Effective = { memoryMb: number; timeoutMs: number; cpu?: number | undefined };

export function ceilingRefusal(limits: Effective, quota: Quota, tenant: string): StrataError | undefined {
  const max = quota.maxLimits;
  if (!max) return undefined;
  const over = (
    [
      ['memoryMb', limits.memoryMb, max.memoryMb],
      ['timeoutMs', limits.timeoutMs, max.timeoutMs],
      ['cpu', limits.cpu ?? Number.POSITIVE_INFINITY, max.cpu],
    ] as const
  ).find(([, value, ceiling]) => ceiling !== undefined && value > ceiling);
  if (!over) return undefined;
  const [name, value, ceiling] = over;
  const asked = Number.isFinite(value) ? `${value}` : 'no limit (all cores)';
  return new StrataError(
    'quota_exceeded',
    `limits.${name} ${asked} is over tenant ${tenant}'s ceiling of ${ceiling}; ask limits.${name} <= ${ceiling}`,
    { quota: `maxLimits.${name}`, limit: name, ceiling, tenant },
  );
}

/** The check at deploy: the limits the manifest would run with. */
export function deployCeilingRefusal(
  requested: Limits,
  node: Config['limits'],
  quota: Quota,
  tenant: string,
): StrataError | undefined {
  if (!quota.maxLimits) return undefined;
  return ceilingRefusal(resolveLimits(requested, node), quota, tenant);
}
