/**
 * Thrashing at the memory limit. Near its cgroup limit, a process whose anonymous memory cannot
 * go anywhere (no swap) does not always meet the OOM killer: the kernel keeps reclaiming the
 * file pages it can (the runtime's own code), the process faults them back in, and the call
 * crawls to its deadline while "making progress". Seen under load with a JS array bomb at 96 MiB:
 * usage pinned at the limit for ten seconds, then `timeout`. The watch ends that as what it is.
 *
 * The signature, every sample for `samples` samples in a row: usage within a small margin of the
 * limit, the limit hit again (v1 `memory.failcnt`, v2 `memory.events` "max") and major page
 * faults rising (pages read back from disk). A function that only fills the page cache (reads or
 * writes files) reclaims at its limit too, but takes no major faults on its own code.
 */
import { readFileSync } from 'node:fs';
import type { ContainerCgroup } from './cgroup-usage.ts';

export interface MemoryPressure {
  usageBytes?: number;
  limitHits?: number;
  majorFaults?: number;
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

const field = (text: string | undefined, pattern: RegExp): number | undefined => {
  const value = text === undefined ? undefined : pattern.exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
};

export function readPressure(cg: ContainerCgroup): MemoryPressure {
  if (cg.version === 1) {
    const mem = cg.dirs.memory;
    if (!mem) return {};
    return {
      usageBytes: field(readText(`${mem}/memory.usage_in_bytes`), /^(\d+)/),
      limitHits: field(readText(`${mem}/memory.failcnt`), /^(\d+)/),
      majorFaults: field(readText(`${mem}/memory.stat`), /^total_pgmajfault (\d+)/m),
    };
  }
  const dir = cg.dirs[''] as string;
  return {
    usageBytes: field(readText(`${dir}/memory.current`), /^(\d+)/),
    limitHits: field(readText(`${dir}/memory.events`), /^max (\d+)/m),
    majorFaults: field(readText(`${dir}/memory.stat`), /^pgmajfault (\d+)/m),
  };
}

export interface ThrashWatchOptions {
  limitBytes: number;
  /** Sampling period (default 250 ms). */
  intervalMs?: number;
  /** Samples the verdict spans (default 8: two seconds at 250 ms). */
  samples?: number;
  /** For tests: where the figures come from. */
  read?: () => MemoryPressure;
}

/** Within a small margin of the limit (the kernel charges in pages and batches). */
export const atMemoryLimit = (bytes: number | undefined, limitBytes: number): boolean =>
  bytes !== undefined && bytes >= limitBytes - Math.max(2 * 1024 * 1024, limitBytes * 0.03);

/**
 * A window of samples' verdict: every sample at the limit (a container that let go of memory is
 * not thrashing), the limit hit again in at least half of the intervals, and major faults more at
 * the end than at the start. A stalled process may take no new fault in one 250 ms interval while
 * the kernel reclaims: judged per interval, one such interval restarted the count and a bomb
 * crawled to its deadline.
 */
export function isThrashingOver(window: readonly MemoryPressure[], limitBytes: number): boolean {
  const first = window[0];
  const last = window[window.length - 1];
  if (!first || !last || window.length < 2) return false;
  if (window.some((p) => p.limitHits === undefined || p.majorFaults === undefined)) return false;
  if (!window.every((p) => atMemoryLimit(p.usageBytes, limitBytes))) return false;
  let hitIntervals = 0;
  for (let i = 1; i < window.length; i++)
    if ((window[i]?.limitHits as number) > (window[i - 1]?.limitHits as number)) hitIntervals++;
  return hitIntervals * 2 >= window.length - 1 && (last.majorFaults as number) > (first.majorFaults as number);
}

/**
 * Watch a running container's cgroup; `onThrash` is called once when it thrashes. Returns the
 * stop function (call it when the invocation ends). Does nothing where the figures are missing.
 */
export function watchThrash(
  cg: ContainerCgroup | undefined,
  onThrash: () => void,
  options: ThrashWatchOptions,
): () => void {
  const read = options.read ?? (cg ? () => readPressure(cg) : undefined);
  if (!read) return () => {};
  const needed = options.samples ?? 8;
  const window: MemoryPressure[] = [read()];
  const timer = setInterval(() => {
    window.push(read());
    if (window.length > needed + 1) window.shift();
    if (window.length === needed + 1 && isThrashingOver(window, options.limitBytes)) {
      clearInterval(timer);
      onThrash();
    }
  }, options.intervalMs ?? 250);
  timer.unref();
  return () => clearInterval(timer);
}
