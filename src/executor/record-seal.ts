/**
 * Making a finished record safe to store and to send, on its own, before it joins a group
 * commit: error text is capped (limits.errorBytes, with a marker), a result nested deeper than
 * limits.resultDepth, one JSON cannot represent, or one over the result cap turns the record into
 * `failed` with `result_not_serializable` / `result_too_large`, and annotations that cannot be
 * stored are dropped with a plugin error. So one bad record can never fail another one's commit,
 * and a client always gets an answer it can parse.
 */
import { StrataError } from '../core/errors.ts';
import type { ExecutionRecord } from '../core/execution.ts';
import type { ResolvedLimits } from '../core/limits.ts';
import { capText } from '../core/text-cap.ts';
import { pluginError } from './phase-runner.ts';

/** The bounds a record is sealed within (an invocation's resolved limits). */
export type SealLimits = Pick<ResolvedLimits, 'resultBytes' | 'logBytes' | 'errorBytes'>;

/** The JSON text each sealed record was stored as (the invoke route answers with it). */
const sealed = new WeakMap<ExecutionRecord, string>();

export const sealedJson = (record: ExecutionRecord): string | undefined => sealed.get(record);

/** Whether `value` nests objects/arrays deeper than `maxDepth` (a cycle counts as too deep). */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  // Iterative: the values this guards against are the ones that overflow a recursive walk.
  const stack: object[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const node = stack.pop() as object;
    const depth = depths.pop() as number;
    if (depth > maxDepth) return true;
    if (ArrayBuffer.isView(node)) continue;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** Seal a finished record (fixing it where needed) and return its JSON text. Never throws. */
export function sealRecord(record: ExecutionRecord, limits: SealLimits, resultDepth: number): string {
  if (record.error) {
    const message = capText(record.error.message, limits.errorBytes, 'error message');
    if (message !== record.error.message) record.error = { code: record.error.code, message };
  }
  if (record.result !== undefined && nestsDeeperThan(record.result, resultDepth)) {
    notSerializable(record, `it nests deeper than ${resultDepth} levels (limits.resultDepth) or refers to itself`);
  }
  const annotations = record.plugins?.annotations;
  if (annotations && nestsDeeperThan(annotations, resultDepth)) dropAnnotations(record, 'nest too deep');
  let json = stringify(record);
  // Logs and error text are bounded already; what is left over is the result or the annotations.
  const bound = limits.resultBytes + limits.logBytes + limits.errorBytes + 64 * 1024;
  if (json.length > bound / 3 && Buffer.byteLength(json) > bound) {
    const resultBytes = record.result === undefined ? 0 : Buffer.byteLength(JSON.stringify(record.result));
    if (resultBytes > limits.resultBytes) {
      tooLarge(record, resultBytes, limits);
    } else if (record.plugins?.annotations) {
      dropAnnotations(record, `are larger than ${bound} bytes`);
    }
    json = stringify(record);
  }
  sealed.set(record, json);
  return json;
}

/** JSON.stringify that fixes what it cannot represent instead of throwing. */
function stringify(record: ExecutionRecord): string {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return JSON.stringify(record);
    } catch (err) {
      const why = (err as Error).message;
      if (record.result !== undefined) notSerializable(record, why);
      else if (record.plugins?.annotations) dropAnnotations(record, `cannot be JSON (${why})`);
      else break;
    }
  }
  // Nothing user-controlled is left but text: keep the fields that say what happened.
  const { id, function: fn, status, error, usage, tier, priority, source, timings, death, placement } = record;
  return JSON.stringify({
    id,
    function: fn,
    status,
    error,
    logs: '',
    usage,
    tier,
    priority,
    source,
    timings,
    death,
    placement,
  });
}

function notSerializable(record: ExecutionRecord, why: string): void {
  fail(
    record,
    new StrataError(
      'result_not_serializable',
      `the function's result cannot be stored as JSON: ${capText(why, 1024, 'reason')}; return plain JSON data (numbers, text, lists, objects) without deep nesting`,
    ),
  );
}

function tooLarge(record: ExecutionRecord, bytes: number, limits: SealLimits): void {
  fail(
    record,
    new StrataError(
      'result_too_large',
      `the result is ${bytes} bytes of JSON, over the ${limits.resultBytes}-byte cap (limits.default.resultBytes); return less or write it elsewhere`,
    ),
    limits.resultBytes,
  );
}

function fail(record: ExecutionRecord, error: StrataError, limit?: number): void {
  delete record.result;
  record.status = 'failed';
  record.error = { code: error.code, message: error.message };
  record.death = {
    cause: 'result',
    ...(limit !== undefined ? { limit } : {}),
    at: new Date().toISOString(),
    usage: record.usage,
  };
}

function dropAnnotations(record: ExecutionRecord, why: string): void {
  const names = Object.keys(record.plugins?.annotations ?? {});
  if (record.plugins) delete record.plugins.annotations;
  pluginError(record, names.join(', '), 'post', `annotations of ${names.join(', ')} ${why}, so they were dropped`);
}
