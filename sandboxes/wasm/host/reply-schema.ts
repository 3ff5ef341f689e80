/**
 * What a wasm host may answer to `run` (sandboxes/wasm/host/protocol.ts HostRunReply), checked in
 * the worker before the driver reads it; a reply that fails is a protocol violation (the host is
 * destroyed, the invocation ends killed/protocol_violation). Sizes follow the request's limits.
 */
import { z } from 'zod';
import type { HostRunReply } from './protocol.ts';

/** The wasm host caps error text to this before it sends it (host-main.ts). */
export const WASM_HOST_ERROR_BYTES = 16 * 1024;

const figure = z.number().finite().nonnegative();
const WASM_ERROR_CODES = [
  'function_error',
  'fuel_exhausted',
  'invalid_code',
  'invalid_request',
  'memory_exceeded',
  'result_not_serializable',
  'result_too_large',
  'sandbox_crashed',
  'timeout',
  'limit_exceeded',
  'cancelled',
] as const;

const cache = new Map<number, ReturnType<typeof build>>();

/** The schema for a run with this log budget (built once per budget: zod schemas cost to make). */
export function wasmRunReplySchema(limits: { logBytes: number }) {
  let schema = cache.get(limits.logBytes);
  if (!schema) {
    if (cache.size > 256) cache.clear();
    schema = build(limits);
    cache.set(limits.logBytes, schema);
  }
  return schema;
}

function build(limits: { logBytes: number }) {
  const ran = z.strictObject({
    needBytes: z.literal(false).optional(),
    status: z.enum(['succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed']),
    result: z.unknown().optional(),
    resultIsText: z.boolean().optional(),
    error: z
      .strictObject({ code: z.enum(WASM_ERROR_CODES), message: z.string().max(WASM_HOST_ERROR_BYTES + 1024) })
      .optional(),
    exitCode: z.number().int().optional(),
    // The log budget's text: the budget plus its marker.
    logs: z.string().max(limits.logBytes + 1024),
    fuelConsumed: figure.optional(),
    memoryBytes: figure.optional(),
    cpuMs: figure.optional(),
    start: z.strictObject({ kind: z.enum(['prewarmed', 'cold']), initMs: figure }).optional(),
    lateLogBytes: figure.optional(),
    wallMs: figure,
    timedOut: z.boolean().optional(),
    cancelled: z.boolean().optional(),
    crashed: z
      .string()
      .max(WASM_HOST_ERROR_BYTES + 1024)
      .optional(),
  });
  return z.union([z.strictObject({ needBytes: z.literal(true) }), ran]) satisfies z.ZodType<HostRunReply>;
}
