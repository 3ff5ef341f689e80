import { z } from 'zod';
import { secret } from '../units.ts';

/** The worker's secret store (docs/governance.md): values encrypted at rest with AES-256-GCM. */
export const secretsSection = z
  .object({
    /**
     * Key for the secret store (any text; sha256 makes the AES key). Empty: a random key is made
     * at first start in <dataDir>/secrets-key (mode 0600).
     */
    key: secret(z.string()).default(''),
  })
  .prefault({});
