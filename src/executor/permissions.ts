/**
 * The node's cap on what a manifest may ask, per trust level (config policy.permissions), as a
 * pure function. A manifest grants nothing by itself: what it asks beyond the cap is refused at
 * deploy (403 permission_denied naming the permission) and, for artifacts that arrive another
 * way (a Master's dispatch), at invocation.
 */
import type { Config } from '../config/schema.ts';
import { StrataError } from '../core/errors.ts';
import { type Manifest, NETWORK_LEVELS, networkLevelOf } from '../core/manifest.ts';

export type PermissionPolicy = Config['policy']['permissions'];

/** The refusal for a manifest asking beyond its trust level's cap, or undefined when it does not. */
export function permissionRefusal(
  manifest: Pick<Manifest, 'name' | 'trust' | 'permissions'>,
  policy: PermissionPolicy,
): StrataError | undefined {
  const asked = networkLevelOf(manifest.permissions.network);
  const cap = policy[manifest.trust].network;
  if (NETWORK_LEVELS.indexOf(asked) <= NETWORK_LEVELS.indexOf(cap)) return undefined;
  const what = asked === 'all' ? 'all outbound network (true)' : 'a network allow-list';
  const allowed = cap === 'none' ? 'no network' : 'at most a network allow-list';
  return new StrataError(
    'permission_denied',
    `function "${manifest.name}" asks permissions.network = ${what}, but ${manifest.trust} functions may ask ${allowed} on this node (policy.permissions.${manifest.trust}.network = ${cap}); drop or narrow permissions.network, or ask an operator`,
    { permission: 'network', asked, cap },
  );
}
