/**
 * One cause of death per invocation that did not succeed (DESIGN.md B1), as a pure function: the
 * tier's own account when it gave one, else derived from the status and the error code, with the
 * limit that was hit and the usage snapshot.
 */
import type { ErrorCode } from '../core/errors.ts';
import type { Death, DeathCause, ExecutionRecord, RunOutcome } from '../core/execution.ts';
import type { ResolvedLimits } from '../core/limits.ts';

const BY_CODE: Partial<Record<ErrorCode, DeathCause>> = {
  timeout: 'time',
  memory_exceeded: 'memory',
  fuel_exhausted: 'fuel',
  result_too_large: 'result',
  result_not_serializable: 'result',
  protocol_violation: 'protocol',
  sandbox_crashed: 'crash',
  internal: 'crash',
  cancelled: 'cancel',
  reclaimed: 'cancel',
  shutting_down: 'cancel',
  interrupted: 'cancel',
};

/** The limit each cause stands for, in its own unit. */
const LIMIT_OF: Partial<Record<DeathCause, (l: ResolvedLimits) => number | undefined>> = {
  time: (l) => l.timeoutMs,
  memory: (l) => l.memoryMb,
  fuel: (l) => l.fuel,
  pids: (l) => l.pids,
  log: (l) => l.logBytes,
  result: (l) => l.resultBytes,
  disk: (l) => l.tmpMb,
};

/** What ended a record that did not succeed; undefined for one that succeeded (or is not over). */
export function deathOf(
  record: Pick<ExecutionRecord, 'status' | 'error' | 'usage'>,
  told: RunOutcome['death'] | undefined,
  limits: ResolvedLimits | undefined,
  at: string,
): Death | undefined {
  if (record.status === 'succeeded' || record.status === 'queued' || record.status === 'running') return undefined;
  const cause = told?.cause ?? causeOf(record);
  const limit = told?.limit ?? (limits ? LIMIT_OF[cause]?.(limits) : undefined);
  return { cause, ...(limit !== undefined ? { limit } : {}), at, usage: told?.usage ?? record.usage };
}

function causeOf(record: Pick<ExecutionRecord, 'status' | 'error'>): DeathCause {
  const code = record.error?.code;
  const byCode = code ? BY_CODE[code] : undefined;
  if (byCode) return byCode;
  if (code === 'limit_exceeded') return limitCause(record.error?.message ?? '');
  if (record.status === 'timeout') return 'time';
  if (record.status === 'memory_exceeded') return 'memory';
  if (record.status === 'killed') return 'crash';
  return 'error';
}

/**
 * Which limit a tier's `limit_exceeded` was about, from its message, for tiers that do not say
 * it in `death` yet (their messages name the limit to raise).
 */
function limitCause(message: string): DeathCause {
  if (/\bpids\b|process(es)? limit|limit of \d+ processes/i.test(message)) return 'pids';
  if (/\blogBytes\b|\blog\b|output/i.test(message)) return 'log';
  if (/\btmpMb\b|disk|\/tmp|no space/i.test(message)) return 'disk';
  if (/\bfuel\b/i.test(message)) return 'fuel';
  return 'error';
}
