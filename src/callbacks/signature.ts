/**
 * The callback signature, Stripe-style: `Strata-Signature: t=<unix seconds>,v1=<hex>` where the
 * hex is HMAC-SHA256 over `<t>.<body>` with the worker's callback key. A receiver recomputes it
 * with the same key and refuses old timestamps (replays).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { join } from 'node:path';
import { readOrMakeKeyFile } from '../core/key-file.ts';

export const SIGNATURE_HEADER = 'Strata-Signature';

export function sign(key: string, body: string, at: number = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', key).update(`${at}.${body}`).digest('hex');
  return `t=${at},v1=${mac}`;
}

/** Whether `header` signs `body` with `key`, no older than `toleranceSeconds`. */
export function verify(
  key: string,
  body: string,
  header: string | null | undefined,
  toleranceSeconds = 300,
  now = Math.floor(Date.now() / 1000),
): boolean {
  const parts = Object.fromEntries(
    (header ?? '').split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]),
  );
  const at = Number(parts.t);
  if (!Number.isInteger(at) || !parts.v1 || Math.abs(now - at) > toleranceSeconds) return false;
  const expected = Buffer.from(createHmac('sha256', key).update(`${at}.${body}`).digest('hex'));
  const given = Buffer.from(parts.v1);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The configured key, or the worker's own, made once in `<dataDir>/callback-signing-key` (0600). */
export function signingKey(configured: string, dataDir: string): { key: string; file?: string } {
  if (configured) return { key: configured };
  const file = join(dataDir, 'callback-signing-key');
  const key = readOrMakeKeyFile(
    file,
    (code) => `cannot read the callback signing key ${file} (${code}) — set STRATA_CALLBACKS_SIGNING_KEY or remove it`,
  );
  return { key, file };
}
