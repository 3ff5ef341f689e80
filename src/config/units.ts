import { z } from 'zod';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** "5s", "250ms", "2m", "1.5h" or a number of milliseconds -> milliseconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(value);
  if (!match) return undefined;
  const unit = (match[2] ?? 'ms').toLowerCase();
  return Math.round(Number(match[1]) * (DURATION_UNITS[unit] as number));
}

/** "256MiB", "6MB", "512KiB", "1GiB" or a number of bytes -> bytes. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(value);
  if (!match) return undefined;
  const unit = (match[2] ?? 'b').toLowerCase();
  return Math.floor(Number(match[1]) * (SIZE_UNITS[unit] as number));
}

/** A zod field users write as "5s" or 5000; compiled to milliseconds once. */
export const duration = () =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration like "250ms", "5s" or "2m", got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A zod field users write as "256MiB" or a number of bytes; compiled to bytes once. */
export const size = () =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const bytes = parseSize(value);
    if (bytes === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a size like "512KiB", "256MiB" or "1GiB", got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return bytes;
  });

/** Integers from env vars arrive as strings. */
export const integer = () =>
  z.coerce
    // Only the type error is ours; range checks (min, max) keep their own messages.
    .number({ error: (issue) => (issue.code === 'invalid_type' ? 'expected a whole number like 4' : undefined) })
    .int('expected a whole number like 4');
export const boolean = () =>
  z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])], {
      error: (issue) =>
        issue.code === 'invalid_union' ? `expected true, false, 1 or 0, got ${JSON.stringify(issue.input)}` : undefined,
    })
    .transform((v) => v === true || v === 'true' || v === '1');

export const formatBytes = (bytes: number): string => {
  if (bytes % 1024 ** 3 === 0 && bytes > 0) return `${bytes / 1024 ** 3}GiB`;
  if (bytes % 1024 ** 2 === 0 && bytes > 0) return `${bytes / 1024 ** 2}MiB`;
  if (bytes % 1024 === 0 && bytes > 0) return `${bytes / 1024}KiB`;
  return `${bytes}B`;
};

/** A list users write as "a,b,c" (env vars) or as an array (files); items checked by `item`. */
export const commaList = <T extends z.ZodType>(item: T, min = 0) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item).min(min),
  );
