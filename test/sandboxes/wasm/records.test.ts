/** death and start in the wasm tier's outcomes (a pure function of outcome and limits). */
import { describe, expect, it } from 'vitest';
import { deathOf, withRecords } from '../../../sandboxes/wasm/records.ts';
import { type RunOutcome, usageOf } from '../../../src/core/execution.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';

const limits: ResolvedLimits = {
  timeoutMs: 500,
  memoryMb: 32,
  logBytes: 4096,
  resultBytes: 1000,
  fuel: 9000,
  pids: 64,
  tmpMb: 64,
  errorBytes: 16384,
};
const usage = usageOf({ wallMs: 12, cpuMs: 3 });
const outcome = (status: RunOutcome['status'], code?: string): RunOutcome =>
  ({ status, usage, ...(code ? { error: { code, message: code } } : {}) }) as RunOutcome;

describe('deathOf', () => {
  it('names the limit that ended the run, in its own unit, with the usage then', () => {
    expect(deathOf(outcome('timeout', 'timeout'), limits)).toEqual({ cause: 'time', limit: 500, usage });
    expect(deathOf(outcome('memory_exceeded', 'memory_exceeded'), limits)).toEqual({
      cause: 'memory',
      limit: 32,
      usage,
    });
    expect(deathOf(outcome('killed', 'fuel_exhausted'), limits)).toEqual({ cause: 'fuel', limit: 9000, usage });
    expect(deathOf(outcome('failed', 'result_too_large'), limits)).toEqual({ cause: 'result', limit: 1000, usage });
  });

  it('says cancel, crash, protocol or error for the rest, and nothing for a success', () => {
    expect(deathOf(outcome('killed', 'cancelled'), limits)?.cause).toBe('cancel');
    expect(deathOf(outcome('killed', 'sandbox_crashed'), limits)?.cause).toBe('crash');
    expect(deathOf(outcome('killed', 'protocol_violation'), limits)?.cause).toBe('protocol');
    expect(deathOf(outcome('failed', 'function_error'), limits)).toEqual({ cause: 'error', usage });
    expect(deathOf(outcome('succeeded'), limits)).toBeUndefined();
  });

  it('withRecords adds start when the guest started', () => {
    const out = withRecords(outcome('succeeded'), limits, { kind: 'prewarmed', initMs: 1.23456 });
    expect(out).toEqual({ status: 'succeeded', usage, start: { kind: 'prewarmed', initMs: 1.23 } });
    expect(withRecords(outcome('succeeded'), limits, undefined).start).toBeUndefined();
  });
});
