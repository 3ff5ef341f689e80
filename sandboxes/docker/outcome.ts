/** Small pure helpers turning what a container did into a RunOutcome. */
import { abortError } from '../../src/core/driver.ts';
import type { ErrorInfo, ExitInfo, RunOutcome, Usage } from '../../src/core/execution.ts';

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

export function memoryExceeded(limitMb: number, usage: Usage, exit?: ExitInfo): RunOutcome {
  return {
    status: 'memory_exceeded',
    error: {
      code: 'memory_exceeded',
      message: `the function went over its ${limitMb} MiB memory limit and was killed by the kernel OOM killer; raise limits.memoryMb or use less memory`,
    },
    usage,
    exit: { ...exit, oomKilled: true },
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
