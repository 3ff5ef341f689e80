/**
 * The honest-record fields of a wasm outcome (CONTRACTS.md): `death` — which limit or event
 * ended a run that did not succeed, with the limit in its ResolvedLimits unit and the usage the
 * tier measured — and `start` — `prewarmed` when the host thread had the compiled module, component
 * or JS engine already, `cold` when it had to compile or load it first. A pure function of the
 * outcome and the limits, unit-tested on its own.
 */
import type { DeathCause, RunOutcome } from '../../src/core/execution.ts';
import type { ResolvedLimits } from '../../src/core/limits.ts';

export function deathOf(outcome: RunOutcome, limits: ResolvedLimits): RunOutcome['death'] {
  if (outcome.status === 'succeeded') return undefined;
  const code = outcome.error?.code;
  const dies = (cause: DeathCause, limit?: number): NonNullable<RunOutcome['death']> =>
    limit === undefined ? { cause, usage: outcome.usage } : { cause, limit, usage: outcome.usage };
  if (outcome.status === 'timeout') return dies('time', limits.timeoutMs);
  if (outcome.status === 'memory_exceeded') return dies('memory', limits.memoryMb);
  // A string switch: protocol_violation joins the ErrorCode union with the isolate branch.
  switch (code as string | undefined) {
    case 'fuel_exhausted':
      return dies('fuel', limits.fuel);
    case 'result_too_large':
      return dies('result', limits.resultBytes);
    case 'cancelled':
      return dies('cancel');
    case 'sandbox_crashed':
      return dies('crash');
    case 'protocol_violation':
      return dies('protocol');
    default:
      return dies('error');
  }
}

/** Adds `death` (from the outcome) and `start` (from the host's reply, when the guest started). */
export function withRecords(
  outcome: RunOutcome,
  limits: ResolvedLimits,
  start: RunOutcome['start'] | undefined,
): RunOutcome {
  const death = deathOf(outcome, limits);
  if (death) outcome.death = death;
  if (start) outcome.start = { kind: start.kind, initMs: Math.round(start.initMs * 100) / 100 };
  return outcome;
}
