/**
 * Validation of what the JS child sends the runner (fd 4). User JS runs in that process and can
 * write anything there, so every frame is checked field by field before use (the runner has no
 * npm packages, hence no zod here). A frame that fails is a protocol violation.
 */
import { CHILD_FAIL_CODES, type ChildMessage, LOG_CHUNK_CHARS, MAX_MESSAGE_CHARS } from './protocol.ts';

type Check = { ok: true; message: ChildMessage } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const onlyKeys = (v: Record<string, unknown>, keys: readonly string[]): string | undefined =>
  Object.keys(v).find((k) => !keys.includes(k));

const fail = (reason: string): Check => ({ ok: false, reason });

/** Check one decoded frame from the JS child; `maxJsonChars` bounds a result's JSON text. */
export function checkChildMessage(value: unknown, maxJsonChars: number): Check {
  if (!isObject(value)) return fail(`a frame that is not an object (${value === null ? 'null' : typeof value})`);
  const t = value.t;
  if (t === 'ready') {
    const extra = onlyKeys(value, ['t']);
    return extra ? fail(`a ready frame with an unknown field "${extra}"`) : { ok: true, message: { t: 'ready' } };
  }
  if (typeof value.id !== 'string' || value.id.length === 0 || value.id.length > 128)
    return fail(`a ${String(t).slice(0, 20)} frame without a valid id`);
  const id = value.id;
  if (t === 'log') {
    const extra = onlyKeys(value, ['t', 'id', 'stream', 'data']);
    if (extra) return fail(`a log frame with an unknown field "${extra}"`);
    if (value.stream !== 'stdout' && value.stream !== 'stderr') return fail('a log frame with an invalid stream');
    if (typeof value.data !== 'string' || value.data.length > LOG_CHUNK_CHARS)
      return fail('a log frame whose data is not a string of at most 64 Ki characters');
    return { ok: true, message: { t: 'log', id, stream: value.stream, data: value.data } };
  }
  if (t === 'result') {
    const fenced = value.fenced;
    if (!Array.isArray(fenced) || fenced.length !== 2 || fenced.some((f) => typeof f !== 'boolean'))
      return fail('a result frame without a valid fenced pair');
    if (!isCount(value.late)) return fail('a result frame without a valid late count');
    const pair: [boolean, boolean] = [fenced[0] as boolean, fenced[1] as boolean];
    if (value.ok === true) {
      const extra = onlyKeys(value, ['t', 'id', 'ok', 'json', 'late', 'fenced']);
      if (extra) return fail(`a result frame with an unknown field "${extra}"`);
      if (typeof value.json !== 'string' || value.json.length > maxJsonChars)
        return fail('a result frame whose json is not a string within the result cap');
      return { ok: true, message: { t: 'result', id, ok: true, json: value.json, late: value.late, fenced: pair } };
    }
    if (value.ok === false) {
      const extra = onlyKeys(value, ['t', 'id', 'ok', 'code', 'message', 'late', 'fenced']);
      if (extra) return fail(`a result frame with an unknown field "${extra}"`);
      const code = CHILD_FAIL_CODES.find((c) => c === value.code);
      if (!code) return fail('a result frame with an unknown error code');
      if (typeof value.message !== 'string' || value.message.length > MAX_MESSAGE_CHARS + 64)
        return fail('a result frame whose message is not a bounded string');
      return {
        ok: true,
        message: { t: 'result', id, ok: false, code, message: value.message, late: value.late, fenced: pair },
      };
    }
    return fail('a result frame whose ok is not a boolean');
  }
  return fail(`a frame of unknown type ${JSON.stringify(String(t)).slice(0, 40)}`);
}
