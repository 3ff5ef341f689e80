/** Small pure helpers turning what a container did into a RunOutcome. */
import { abortError } from '../../src/core/driver.ts';
import type { DeathCause, ErrorInfo, ExitInfo, RunOutcome, Usage } from '../../src/core/execution.ts';
import type { ResolvedLimits } from '../../src/core/limits.ts';

/** Status for an invocation stopped by the executor's signal. */
export function abortedOutcome(signal: AbortSignal, usage: Usage): RunOutcome {
  const error = abortError(signal);
  const timedOut = error.code === 'timeout';
  return { status: timedOut ? 'timeout' : 'killed', error, usage, exit: { timedOut, signal: 'SIGKILL' } };
}

/** stdout as the result: JSON when it parses, text otherwise (trailing newline of text kept out). */
export function resultFromStdout(text: string): { result: unknown; resultIsText?: boolean } {
  const trimmed = text.trim();
  if (trimmed.length === 0) return { result: null };
  try {
    return { result: JSON.parse(trimmed) };
  } catch {
    return { result: text.replace(/\n$/, ''), resultIsText: true };
  }
}

export function failed(error: ErrorInfo, usage: Usage, exit?: ExitInfo): RunOutcome {
  return { status: 'failed', error, usage, ...(exit ? { exit } : {}) };
}

/**
 * `thrashed`: the kernel did not OOM-kill it, it sat at the limit reclaiming until the worker's
 * thrash watch (memory-thrash.ts) killed the container.
 */
export function memoryExceeded(
  limitMb: number,
  usage: Usage,
  exit?: ExitInfo,
  how: 'oom_killer' | 'thrashed' = 'oom_killer',
): RunOutcome {
  const what =
    how === 'thrashed'
      ? `reached its ${limitMb} MiB memory limit and thrashed there (the kernel kept reclaiming instead of killing it), so the worker killed it`
      : `went over its ${limitMb} MiB memory limit and was killed by the kernel OOM killer`;
  return {
    status: 'memory_exceeded',
    error: { code: 'memory_exceeded', message: `the function ${what}; raise limits.memoryMb or use less memory` },
    usage,
    exit: { ...exit, oomKilled: how === 'oom_killer' },
  };
}

export function crashed(reason: string, usage: Usage, exit?: ExitInfo): RunOutcome {
  return {
    status: 'killed',
    error: { code: 'sandbox_crashed', message: `the container died while the function ran: ${reason}` },
    usage,
    ...(exit ? { exit } : {}),
  };
}

export function protocolViolation(reason: string, usage: Usage): RunOutcome {
  return {
    status: 'killed',
    error: {
      code: 'protocol_violation',
      message: `the container broke the host protocol and was destroyed: ${reason}`,
    },
    usage,
  };
}

const CANCEL_CODES = new Set(['cancelled', 'reclaimed', 'shutting_down', 'interrupted']);

/**
 * The outcome with its cause of death (CONTRACTS.md): what ended it, the limit that was hit and
 * the usage measured at that moment (the outcome's own figures, read when it ended). A success
 * has none. `pidsHit` says the container's pids limit refused a fork during the invocation.
 */
export function withDeath(outcome: RunOutcome, limits: ResolvedLimits, pids: number, pidsHit = false): RunOutcome {
  if (outcome.status === 'succeeded') return outcome;
  const code = outcome.error?.code;
  const death = (cause: DeathCause, limit?: number): RunOutcome => ({
    ...outcome,
    death: { cause, ...(limit !== undefined ? { limit } : {}), usage: outcome.usage },
  });
  if (outcome.status === 'memory_exceeded') return death('memory', limits.memoryMb);
  if (outcome.status === 'timeout') return death('time', limits.timeoutMs);
  if (code === 'protocol_violation') return death('protocol');
  if (code && CANCEL_CODES.has(code)) return death('cancel');
  if (code === 'result_too_large') return death('result', limits.resultBytes);
  if (pidsHit) return death('pids', pids);
  if (outcome.status === 'killed') return death('crash');
  return death('error');
}
