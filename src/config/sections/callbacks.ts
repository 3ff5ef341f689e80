import { z } from 'zod';
import { duration, integer, secret } from '../units.ts';

/** Async-invocation callbacks (`?async=1&callback=URL`; docs/callbacks.md). */
export const callbacksSection = z
  .object({
    /**
     * HMAC-SHA256 key for the `Strata-Signature` header. Empty: a random key is made once and kept
     * in <dataDir>/callback-signing-key (mode 0600).
     */
    signingKey: secret(z.string()).default(''),
    /** Deliveries tried per callback (the first one included) before it is given up. */
    attempts: integer().positive().max(20).default(5),
    /** Wait before the first retry; doubles each time up to backoffMax (with +-20% jitter). */
    backoff: duration().default(500),
    backoffMax: duration().default(30_000),
    /** One delivery attempt may take this long. */
    timeout: duration().default(10_000),
  })
  .prefault({});
