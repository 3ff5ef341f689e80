import { z } from 'zod';
import { boolean, integer, size } from '../units.ts';

const severity = z.enum(['off', 'info', 'warn', 'reject']);

/** Code review at deploy (docs/governance.md "Review rules"). */
export const reviewSection = z
  .object({
    /** Trust levels whose new versions wait for an admin's approve/reject before they run. */
    requireApproval: z
      .object({
        trusted: boolean().default(false),
        standard: boolean().default(false),
        untrusted: boolean().default(false),
      })
      .prefault({}),
    /** Rule id -> severity, overriding the defaults (`{"js-eval": "reject", "js-long-line": "off"}`). */
    rules: z.record(z.string().regex(/^[a-z0-9-]+$/), severity).default({}),
    /** A source line longer than this is an obfuscation signal (rule js-long-line). */
    maxLineLength: integer().positive().default(1000),
    /** A string literal longer than this is an obfuscation signal (rule js-long-string). */
    maxStringLength: integer().positive().default(10_000),
    /** WASM modules larger than this are flagged (rule wasm-size). */
    maxWasmBytes: size().default(16 * 1024 ** 2),
    /** Escalate trusted functions with a warning to a stronger tier (off: warnings are only reported). */
    escalate: boolean().default(true),
  })
  .prefault({});
