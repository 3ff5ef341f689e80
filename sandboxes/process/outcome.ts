/** How a finished sandboxed process maps to an outcome (pure, unit-tested). */
import type { ErrorInfo, ExitInfo, RunOutcome, Usage } from '../../src/core/execution.ts';

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
  return { ...base, status: 'failed', error: { code: 'function_error', message: `the script ${how}; see its logs` } };
}
