/**
 * What an isolate host may answer (validated in the worker before anything reads it). A schema
 * per request, built from that request's own limits: a result longer than its result cap or logs
 * longer than their budget are violations, not something to buffer and trim.
 */
import { z } from 'zod';
import type { RunReply } from './isolate-runtime.ts';

/** Error text from a host is capped there to this; a longer one is a violation. */
export const HOST_ERROR_BYTES = 16 * 1024;

const figure = z.number().finite().nonnegative();

const RUN_ERROR_CODES = [
  'timeout',
  'memory_exceeded',
  'cancelled',
  'function_error',
  'invalid_code',
  'result_too_large',
  'result_not_serializable',
  'malformed_outcome',
  'not_found',
] as const;

type ReplyLimits = { resultBytes: number; logBytes: number; errorBytes: number };
const cache = new Map<string, ReturnType<typeof buildRunReplySchema>>();

/** The zod schema for a run with these limits: the reference runReplyCheck is held to (tests). */
export function runReplySchema(limits: ReplyLimits) {
  const key = `${limits.resultBytes}/${limits.logBytes}/${limits.errorBytes}`;
  let schema = cache.get(key);
  if (!schema) {
    if (cache.size > 256) cache.clear();
    schema = buildRunReplySchema(limits);
    cache.set(key, schema);
  }
  return schema;
}

function buildRunReplySchema(limits: ReplyLimits) {
  const logText = z.string().max(limits.logBytes + 1024);
  return z.strictObject({
    status: z.enum(['succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed']),
    // The host checks the result's byte size; characters are never more than bytes.
    resultJson: z.string().max(limits.resultBytes).optional(),
    error: z.strictObject({ code: z.enum(RUN_ERROR_CODES), message: z.string().max(HOST_ERROR_BYTES) }).optional(),
    logs: z.strictObject({ head: logText, tail: logText, droppedBytes: figure }),
    cpuMs: figure.optional(),
    memoryPeakBytes: figure.optional(),
    lateLogBytes: figure.optional(),
    netTxBytes: figure.optional(),
    netRxBytes: figure.optional(),
    start: z.strictObject({ kind: z.enum(['warm', 'fresh', 'prewarmed', 'cold']), initMs: figure }).optional(),
  }) satisfies z.ZodType<RunReply>;
}

/** `check` and `forget` answer nothing. */
export const emptyReplySchema = z.undefined();

/**
 * What a check answers: the same shape as zod's safeParse, so the host pool takes either. A
 * failure names the first thing wrong (message and path), as the pool's violation text.
 */
export type CheckResult<T> =
  | { success: true; data: T }
  | { success: false; error: { issues: { message: string; path: PropertyKey[] }[] } };

const fail = (message: string, path: PropertyKey[]): CheckResult<never> => ({
  success: false,
  error: { issues: [{ message, path }] },
});

const RUN_STATUSES = new Set(['succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed']);
const RUN_ERROR_CODE_SET = new Set<string>(RUN_ERROR_CODES);
const START_KINDS = new Set(['warm', 'fresh', 'prewarmed', 'cold']);
const REPLY_KEYS = new Set([
  'status',
  'resultJson',
  'error',
  'logs',
  'cpuMs',
  'memoryPeakBytes',
  'lateLogBytes',
  'netTxBytes',
  'netRxBytes',
  'start',
]);
const FIGURE_KEYS = ['cpuMs', 'memoryPeakBytes', 'lateLogBytes', 'netTxBytes', 'netRxBytes'] as const;

/** A JSON object (not an array, not null): what a zod object accepts. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first own key of `value` not in `allowed` (a strict object refuses it). */
export function unknownKey(value: Record<string, unknown>, allowed: ReadonlySet<string>): string | undefined {
  for (const key in value) if (!allowed.has(key)) return key;
  return undefined;
}

/** z.number().finite().nonnegative(): zod 4 refuses NaN and infinities. */
const isFigure = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0;

const isText = (value: unknown, max: number): boolean => typeof value === 'string' && value.length <= max;

/**
 * The run reply check used on the hot path: hand-written, accepting exactly what
 * runReplySchema(limits) accepts (test/sandboxes/isolate/reply-check.test.ts holds them to the
 * same verdicts). zod cost ~10% of the worker's CPU per warm invocation.
 */
export function runReplyCheck(limits: ReplyLimits): { safeParse(value: unknown): CheckResult<RunReply> } {
  const logMax = limits.logBytes + 1024;
  return {
    safeParse(value: unknown): CheckResult<RunReply> {
      if (!isRecord(value)) return fail('expected an object', []);
      const extra = unknownKey(value, REPLY_KEYS);
      if (extra !== undefined) return fail(`unrecognized key "${extra}"`, []);
      if (typeof value.status !== 'string' || !RUN_STATUSES.has(value.status))
        return fail('invalid status', ['status']);
      if (value.resultJson !== undefined && !isText(value.resultJson, limits.resultBytes))
        return fail('invalid or too long', ['resultJson']);
      const error = value.error;
      if (error !== undefined) {
        if (!isRecord(error)) return fail('expected an object', ['error']);
        if (unknownKey(error, ERROR_KEYS) !== undefined) return fail('unrecognized key', ['error']);
        if (typeof error.code !== 'string' || !RUN_ERROR_CODE_SET.has(error.code))
          return fail('invalid code', ['error', 'code']);
        if (!isText(error.message, HOST_ERROR_BYTES)) return fail('invalid or too long', ['error', 'message']);
      }
      const logs = value.logs;
      if (!isRecord(logs)) return fail('expected an object', ['logs']);
      if (unknownKey(logs, LOG_KEYS) !== undefined) return fail('unrecognized key', ['logs']);
      if (!isText(logs.head, logMax)) return fail('invalid or too long', ['logs', 'head']);
      if (!isText(logs.tail, logMax)) return fail('invalid or too long', ['logs', 'tail']);
      if (!isFigure(logs.droppedBytes)) return fail('expected a non-negative number', ['logs', 'droppedBytes']);
      for (const key of FIGURE_KEYS)
        if (value[key] !== undefined && !isFigure(value[key])) return fail('expected a non-negative number', [key]);
      const start = value.start;
      if (start !== undefined) {
        if (!isRecord(start)) return fail('expected an object', ['start']);
        if (unknownKey(start, START_KEYS) !== undefined) return fail('unrecognized key', ['start']);
        if (typeof start.kind !== 'string' || !START_KINDS.has(start.kind))
          return fail('invalid kind', ['start', 'kind']);
        if (!isFigure(start.initMs)) return fail('expected a non-negative number', ['start', 'initMs']);
      }
      return { success: true, data: value as unknown as RunReply };
    },
  };
}

const ERROR_KEYS = new Set(['code', 'message']);
const LOG_KEYS = new Set(['head', 'tail', 'droppedBytes']);
const START_KEYS = new Set(['kind', 'initMs']);
