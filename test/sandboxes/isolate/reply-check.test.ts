/**
 * The hand-written hot-path checks accept exactly what their zod schemas accept: every valid
 * shape and every malformed variant (each field missing, of each wrong kind, too long, extra
 * keys at each level) gets the same verdict from both. A refused frame still kills its host
 * (protocol.test.ts, hostile.test.ts); this holds the two validators to one accepted set.
 */
import { describe, expect, it } from 'vitest';
import { checkRunnerOutcome, runnerOutcomeSchema } from '../../../sandboxes/isolate/isolate-runtime.ts';
import { runReplyCheck, runReplySchema } from '../../../sandboxes/isolate/protocol.ts';
import { checkEnvelope, hostReplySchema } from '../../../sandboxes/shared/host-pool.ts';

const BAD_VALUES: unknown[] = [
  undefined,
  null,
  true,
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 60,
  '',
  'x',
  'succeeded',
  'warm',
  'timeout',
  'x'.repeat(70 * 1024),
  [],
  [1],
  {},
  { head: '', tail: '', droppedBytes: 0 },
];

/** The value, then every variant with one field (at any depth) removed, replaced, or one key added. */
function variants(value: unknown): unknown[] {
  const out: unknown[] = [value, ...BAD_VALUES];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  const record = value as Record<string, unknown>;
  out.push({ ...record, extra: 1 }, { ...record, ['__proto__']: 1 }, JSON.parse(`{"__proto__":1}`));
  for (const key of Object.keys(record)) {
    const { [key]: _dropped, ...without } = record;
    out.push(without);
    for (const bad of BAD_VALUES) out.push({ ...record, [key]: bad });
    for (const inner of variants(record[key]).slice(1 + BAD_VALUES.length)) out.push({ ...record, [key]: inner });
  }
  return out;
}

const LIMITS = { resultBytes: 64, logBytes: 100, errorBytes: 1024 };

describe('runReplyCheck against runReplySchema', () => {
  const valid = [
    { status: 'succeeded', resultJson: '1', logs: { head: '', tail: '', droppedBytes: 0 } },
    {
      status: 'failed',
      error: { code: 'function_error', message: 'boom' },
      logs: { head: 'a', tail: 'b', droppedBytes: 3 },
      cpuMs: 0.1,
      memoryPeakBytes: 10,
      lateLogBytes: 0,
      netTxBytes: 1,
      netRxBytes: 2,
      start: { kind: 'warm', initMs: 0 },
    },
    { status: 'succeeded', resultJson: 'x'.repeat(64), logs: { head: 'h'.repeat(1124), tail: '', droppedBytes: 0 } },
    { status: 'succeeded', resultJson: 'x'.repeat(65), logs: { head: '', tail: '', droppedBytes: 0 } },
    { status: 'succeeded', logs: { head: 'h'.repeat(1125), tail: '', droppedBytes: 0 } },
    {
      status: 'failed',
      error: { code: 'function_error', message: 'm'.repeat(16 * 1024 + 1) },
      logs: { head: '', tail: '', droppedBytes: 0 },
    },
    { status: 'succeeded', logs: { head: '', tail: '', droppedBytes: 0 }, start: { kind: 'cold', initMs: 2 } },
  ];
  const cases = valid.flatMap(variants);

  it(`gives the same verdict on ${cases.length} replies`, () => {
    const check = runReplyCheck(LIMITS);
    const schema = runReplySchema(LIMITS);
    let accepted = 0;
    for (const value of cases) {
      const ours = check.safeParse(value).success;
      expect(ours, JSON.stringify(value)?.slice(0, 200)).toBe(schema.safeParse(value).success);
      if (ours) accepted++;
    }
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(cases.length / 2);
  });

  it('names what is wrong', () => {
    const result = runReplyCheck(LIMITS).safeParse({
      status: 'succeeded',
      logs: { head: 1, tail: '', droppedBytes: 0 },
    });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.issues[0]?.path).toEqual(['logs', 'head']);
  });
});

describe('checkRunnerOutcome against runnerOutcomeSchema', () => {
  const valid = [
    { kind: 'ok', json: '1', logs: '', late: 0 },
    { kind: 'threw', name: 'Error', message: 'boom', logs: 'x', late: 2 },
    { kind: 'unserializable', message: 'cycle', logs: '', late: 0 },
    { kind: 'too_large', size: 100, logs: '', late: 0 },
    { kind: 'ok', name: 'Error', json: '1', logs: '', late: 0 },
    { kind: 'constructor', logs: '', late: 0 },
    { kind: 'toString', logs: '', late: 0 },
  ];
  const cases = valid.flatMap(variants);

  it(`gives the same verdict on ${cases.length} outcomes`, () => {
    let accepted = 0;
    for (const value of cases) {
      const ours = checkRunnerOutcome(value) !== undefined;
      expect(ours, JSON.stringify(value)?.slice(0, 200)).toBe(runnerOutcomeSchema.safeParse(value).success);
      if (ours) accepted++;
    }
    expect(accepted).toBeGreaterThan(3);
  });
});

describe('checkEnvelope against hostReplySchema', () => {
  const valid = [
    { type: 'ready' },
    { id: 1, ok: true, value: { status: 'succeeded' } },
    { id: 7, ok: true },
    { id: 2, ok: false, error: { code: 'not_found', message: 'no source' } },
    { id: 2, ok: false, error: { code: 'not_found', message: 'm'.repeat(64 * 1024 + 1) } },
    { id: 2, ok: false, error: { code: 'protocol_violation', message: '' } },
    { type: 'ready', id: 1, ok: true },
    { id: 0, ok: true },
    { id: 2 ** 53, ok: true },
    { id: -3, ok: false, error: { code: 'internal', message: '' } },
  ];
  const cases = valid.flatMap(variants);

  it(`gives the same verdict on ${cases.length} messages`, () => {
    let accepted = 0;
    for (const value of cases) {
      const ours = typeof checkEnvelope(value) !== 'string';
      expect(ours, JSON.stringify(value)?.slice(0, 200)).toBe(hostReplySchema.safeParse(value).success);
      if (ours) accepted++;
    }
    expect(accepted).toBeGreaterThan(10);
  });
});
