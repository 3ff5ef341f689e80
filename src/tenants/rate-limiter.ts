/**
 * Invocations per second per tenant, as token buckets: a bucket holds up to `burst` tokens, refills
 * at `rate` per second, and an invocation takes one. The clock is injected (tests step it).
 */
export class RateLimiter {
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number; rate: number; burst: number }>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Take a token for `key`; when none is left, how long until one is. */
  take(key: string, rate: number, burst = Math.max(1, rate)): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (!bucket || bucket.rate !== rate || bucket.burst !== burst) {
      bucket = { tokens: burst, at: now, rate, burst };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / rate) * 1000) };
  }
}
