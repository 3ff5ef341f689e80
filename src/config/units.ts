import { z } from 'zod';
import { markKind } from './kinds.ts';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const BARE_NUMBER = /^\s*\d+(?:\.\d+)?\s*$/;

/**
 * "5s", "250ms", "2m", "1.5h", "30d", or a number of milliseconds -> milliseconds. Lenient on
 * purpose (programmatic callers pass numbers); what people write goes through unitProblem first.
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
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

export type UnitKind = 'duration' | 'size';

const EXAMPLES: Record<UnitKind, string> = {
  duration: 'a duration like "250ms", "5s" or "2m"',
  size: 'a size like "512KiB", "256MiB" or "1GiB"',
};

/**
 * What is wrong with a value a person wrote for a duration or a size (a flag, a STRATA_*
 * variable, a config file), or undefined when it is fine. A bare number is refused: "64" could
 * be bytes or MiB, "5000" ms or seconds. Zero needs no unit.
 */
export function unitProblem(value: unknown, kind: UnitKind): string | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string') return `expected ${EXAMPLES[kind]}, got ${JSON.stringify(value)}`;
  if (BARE_NUMBER.test(text)) {
    if (Number(text) === 0) return undefined;
    const n = text.trim();
    return kind === 'size'
      ? `${n} is ambiguous: write ${n}MiB (or ${n}B, ${n}KiB, ${n}GiB)`
      : `${n} is ambiguous: write ${n}ms (or ${n}s, ${n}m, ${n}h)`;
  }
  const parsed = kind === 'size' ? parseSize(text) : parseDuration(text);
  return parsed === undefined ? `expected ${EXAMPLES[kind]}, got ${JSON.stringify(value)}` : undefined;
}

/**
 * The one unit problem loadConfig adds to zod's checks: a bare number where a unit is needed.
 * Settings named `...Bytes` say their unit, so a bare number there is bytes.
 */
export function bareNumberProblem(value: unknown, kind: UnitKind, name: string): string | undefined {
  const bare = typeof value === 'number' || (typeof value === 'string' && BARE_NUMBER.test(value));
  if (!bare || Number(value) === 0 || (kind === 'size' && name.endsWith('Bytes'))) return undefined;
  return unitProblem(value, kind);
}

/** Parse what a person wrote (a CLI flag): throws an Error with unitProblem's message. */
export function parseWritten(value: string, kind: UnitKind, flag: string): number {
  const problem = unitProblem(value, kind);
  if (problem) throw Object.assign(new Error(`${flag}: ${problem}`), { code: 'invalid_request' });
  return (kind === 'size' ? parseSize(value) : parseDuration(value)) as number;
}

/**
 * A zod field for a duration, compiled to milliseconds once. It takes numbers (milliseconds)
 * from code and defaults; loadConfig refuses bare numbers in what people write (unitProblem).
 */
export const duration = () =>
  markKind(
    z.union([z.string(), z.number()]).transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${EXAMPLES.duration}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    }),
    'duration',
  );

/** A zod field for a size, compiled to bytes once (numbers are bytes, as for duration()). */
export const size = () =>
  markKind(
    z.union([z.string(), z.number()]).transform((value, ctx) => {
      const bytes = parseSize(value);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${EXAMPLES.size}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return bytes;
    }),
    'size',
  );

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

/** Milliseconds in the largest unit that keeps them whole: 5000 -> "5s", 1500 -> "1500ms", 0 -> "0". */
export const formatDuration = (ms: number): string => {
  if (ms === 0) return '0';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
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

/** A secret string (a token, a signing key): every output shows `<set>` instead of it. */
export const secret = <T extends z.ZodType>(schema: T) => markKind(schema, 'secret');
