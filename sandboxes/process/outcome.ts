/** How a finished sandboxed process maps to an outcome, with its cause of death (pure, unit-tested). */
import type { DeathCause, ErrorInfo, ExitInfo, RunOutcome, Usage } from '../../src/core/execution.ts';

const MiB = 1024 * 1024;
/** bwrap exits 128 + the signal that killed its child; 25 is SIGXFSZ (RLIMIT_FSIZE). */
const EXIT_SIGXFSZ = 128 + 25;

export interface ProcessEnd {
  exitCode: number | null;
  signal: string | null;
  /** The run signal fired (timeout, cancel, reclaim, shutdown); its reason. */
  aborted?: ErrorInfo;
  /** The driver stopped the process itself for a limit (pids, stdout size, its own deadline). */
  stoppedFor?: ErrorInfo & { status: 'killed' | 'timeout' };
  /** From the group's own counters. */
  oomKilled: boolean;
  stdout: string;
  usage: Usage;
  /** The usage read when the limit was hit or the signal fired, before the kill. */
  stopUsage?: Usage;
  /** The limits the death's `limit` is taken from. */
  limits?: { timeoutMs: number; memoryMb: number; pids?: number; resultBytes: number };
  /** Size of the writable /tmp and the largest file (RLIMIT_FSIZE), bytes. */
  tmpBytes?: number;
  maxFileSize?: number;
  /** The scratch disk had (almost) no space left at the end. */
  scratchFull?: boolean;
}

/** Which limit a stop code stands for. */
function causeOf(code: string): DeathCause {
  if (code === 'timeout') return 'time';
  if (code === 'memory_exceeded') return 'memory';
  if (code === 'result_too_large') return 'result';
  if (code === 'limit_exceeded') return 'pids';
  if (code === 'internal' || code === 'sandbox_crashed') return 'crash';
  return 'cancel';
}

export function parseResult(stdout: string): { result: unknown; text: boolean } {
  const trimmed = stdout.trim();
  if (trimmed === '') return { result: null, text: false };
  try {
    return { result: JSON.parse(trimmed), text: false };
  } catch {
    return { result: stdout.replace(/\n$/, ''), text: true };
  }
}

export function processOutcome(end: ProcessEnd): RunOutcome {
  const outcome = classify(end);
  if (outcome.status === 'succeeded') return outcome;
  const cause = outcome.error ? deathCause(end, outcome.error.code) : 'error';
  const limit = limitOf(end, cause);
  return {
    ...outcome,
    death: { cause, ...(limit !== undefined ? { limit } : {}), usage: end.stopUsage ?? end.usage },
  };
}

function deathCause(end: ProcessEnd, code: string): DeathCause {
  if (code !== 'function_error') return causeOf(code);
  const xfsz = end.exitCode === EXIT_SIGXFSZ || end.signal === 'SIGXFSZ';
  return end.scratchFull || xfsz ? 'disk' : 'error';
}

/**
 * The limit that was hit, in the unit of the limit's own name (core/execution.ts Death): MiB for
 * memory (memoryMb) and disk (tmpMb, or RLIMIT_FSIZE for one file too large), ms for time, a count
 * for pids, bytes for the result.
 */
function limitOf(end: ProcessEnd, cause: DeathCause): number | undefined {
  const l = end.limits;
  if (cause === 'memory') return l?.memoryMb;
  if (cause === 'time') return l?.timeoutMs;
  if (cause === 'pids') return l?.pids;
  if (cause === 'result') return l?.resultBytes;
  if (cause === 'disk') {
    const bytes = end.scratchFull ? end.tmpBytes : (end.maxFileSize ?? end.tmpBytes);
    return bytes === undefined ? undefined : bytes / MiB;
  }
  return undefined;
}

function classify(end: ProcessEnd): RunOutcome {
  const exit: ExitInfo = { oomKilled: end.oomKilled };
  if (end.exitCode !== null) exit.exitCode = end.exitCode;
  if (end.signal !== null) exit.signal = end.signal;
  const base = { usage: end.usage, exit };
  // Order matters: a timeout or cancel wins over whatever the kill made the process do.
  if (end.aborted) {
    const timedOut = end.aborted.code === 'timeout';
    if (timedOut) exit.timedOut = true;
    return { ...base, status: timedOut ? 'timeout' : 'killed', error: end.aborted };
  }
  if (end.oomKilled)
    return {
      ...base,
      status: 'memory_exceeded',
      error: {
        code: 'memory_exceeded',
        message: 'the script exceeded its memory limit and was killed; raise limits.memoryMb',
      },
    };
  if (end.stoppedFor) {
    const { status, ...error } = end.stoppedFor;
    if (status === 'timeout') exit.timedOut = true;
    return { ...base, status, error };
  }
  if (end.exitCode === 0) {
    const { result, text } = parseResult(end.stdout);
    return { ...base, status: 'succeeded', result, ...(text ? { resultIsText: true } : {}) };
  }
  const how = end.exitCode !== null ? `exited with code ${end.exitCode}` : `was killed by ${end.signal}`;
  const full = end.scratchFull
    ? `; its /tmp was full (${Math.round((end.tmpBytes ?? 0) / MiB)} MiB; raise limits.tmpMb)`
    : '';
  return {
    ...base,
    status: 'failed',
    error: { code: 'function_error', message: `the script ${how}${full}; see its logs` },
  };
}
