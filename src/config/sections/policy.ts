import { z } from 'zod';
import type { NetworkLevel } from '../../core/manifest.ts';
import { RUNTIMES, TIERS, TRUST_LEVELS } from '../../core/tiers.ts';
import { boolean, commaList } from '../units.ts';

const tierList = commaList(z.enum(TIERS), 1);
const byTrust = z.object(
  Object.fromEntries(TRUST_LEVELS.map((t) => [t, tierList])) as Record<(typeof TRUST_LEVELS)[number], typeof tierList>,
);

const networkCap = (fallback: NetworkLevel) =>
  z.enum(['none', 'allowlist', 'all'] satisfies NetworkLevel[]).default(fallback);

/**
 * Which tier runs a function, from (runtime, trust): an ordered list, the first available tier
 * wins. `floor` is the weakest tier each trust level may ever use; a table entry below its floor
 * is refused at start-up (a function may be placed in a stronger tier, never a weaker one).
 */
export const policySection = z
  .object({
    table: z
      .object(
        Object.fromEntries(RUNTIMES.map((r) => [r, byTrust.partial()])) as Record<
          (typeof RUNTIMES)[number],
          ReturnType<typeof byTrust.partial>
        >,
      )
      .partial()
      .default({
        js: { trusted: ['isolate'], standard: ['wasm', 'process', 'docker'], untrusted: ['docker', 'process'] },
        wasm: { trusted: ['wasm'], standard: ['wasm'], untrusted: ['wasm'] },
        script: { trusted: ['process', 'docker'], standard: ['process', 'docker'], untrusted: ['docker', 'process'] },
        container: { trusted: ['docker'], standard: ['docker'], untrusted: ['docker'] },
        http: { trusted: ['http'], standard: ['http'], untrusted: ['http'] },
      }),
    floor: z
      .object({
        trusted: z.enum(TIERS).default('isolate'),
        standard: z.enum(TIERS).default('wasm'),
        untrusted: z.enum(TIERS).default('wasm'),
      })
      .prefault({}),
    /**
     * The most a manifest of each trust level may ask; asking beyond it is refused at deploy with
     * 403 permission_denied naming the permission. network: none < allowlist < all;
     * secrets: whether permissions.secrets may name any secret.
     */
    permissions: z
      .object({
        trusted: z.object({ network: networkCap('allowlist'), secrets: boolean().default(true) }).prefault({}),
        standard: z.object({ network: networkCap('none'), secrets: boolean().default(true) }).prefault({}),
        untrusted: z.object({ network: networkCap('none'), secrets: boolean().default(false) }).prefault({}),
      })
      .prefault({}),
  })
  .prefault({});
