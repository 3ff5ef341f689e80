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

/** The schema for a run with these limits (built once per distinct limits: zod schemas cost to make). */
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
