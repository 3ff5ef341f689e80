/**
 * What the process tier can honestly promise (pure): a manifest asking for something this host
 * cannot enforce is refused at prepare() (so at deploy) with the reason, never accepted silently.
 */
import type { Manifest } from '../../src/core/manifest.ts';
import { type NetworkGrant, networkGrantOf } from '../../src/net/allow-list.ts';
import type { IoSupport, Support } from '../../src/resources/io-support.ts';

export interface TierFacts {
  /** Can a granted function reach the egress proxy (nsenter, a working sandbox)? */
  egress: Support;
  io: IoSupport;
}

/** The function's grant, or the reason it cannot be enforced. */
export function checkManifest(m: Manifest, facts: TierFacts): { grant: NetworkGrant } | { refusal: string } {
  const { grant, errors } = networkGrantOf(m.permissions.network);
  if (errors.length > 0)
    return {
      refusal: `permissions.network cannot be enforced: ${errors.join('; ')} (use host, host:port or a CIDR block)`,
    };
  if (grant.kind !== 'none' && !facts.egress.ok)
    return { refusal: `permissions.network cannot be granted on this node: ${facts.egress.reason}` };
  const l = m.limits;
  if ((l.ioReadBps !== undefined || l.ioWriteBps !== undefined) && !facts.io.bandwidth.ok)
    return {
      refusal: `limits.${l.ioReadBps !== undefined ? 'ioReadBps' : 'ioWriteBps'}: ${facts.io.bandwidth.reason}`,
    };
  if (l.ioWeight !== undefined && !facts.io.weight.ok) return { refusal: `limits.ioWeight: ${facts.io.weight.reason}` };
  return { grant };
}
