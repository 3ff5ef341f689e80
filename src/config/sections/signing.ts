import { z } from 'zod';
import { TRUST_LEVELS } from '../../core/tiers.ts';
import { commaList } from '../units.ts';

/** Deploy signatures (docs/governance.md "Signing"): ed25519 over the artifact digest's hex text. */
export const signingSection = z
  .object({
    /** keyId -> ed25519 public key (PEM or base64 SPKI DER). JSON in STRATA_SIGNING_KEYS. */
    keys: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().min(16)).default({}),
    /** Trust levels a deploy needs a valid signature for; enforced once any key is configured. */
    requireFor: commaList(z.enum(TRUST_LEVELS)).default(['trusted']),
  })
  .prefault({});
