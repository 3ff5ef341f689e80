/**
 * Asserting that code does not block the event loop (issue 16: no request path may block it for
 * more than 100 ms). A timer ticks every few milliseconds; for each gap between ticks it notes
 * how late the tick was and how much CPU this thread spent in that gap. The gap's "blocked" time
 * is the smaller of the two: a loaded machine that descheduled the process makes ticks late but
 * uses no CPU of ours, so only work this thread really did counts, whatever the machine's speed.
 *
 *   const value = await expectNoLoopBlock(() => app.request('/v1/functions', ...));   // <= 100 ms
 *   const watch = watchEventLoop(); ...; const { maxBlockedMs } = watch.stop();
 */
import { expect } from 'vitest';

export interface LoopReport {
  /** The longest any tick was late, wall clock (includes time the OS did not run us). */
  maxDelayMs: number;
  /** The longest stretch this thread held the loop, by its own CPU time. */
  maxBlockedMs: number;
  /** Ticks observed. */
  ticks: number;
}

export interface LoopWatch {
  stop(): LoopReport;
}

const cpuMs = () => {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
};

export function watchEventLoop(intervalMs = 5): LoopWatch {
  const report: LoopReport = { maxDelayMs: 0, maxBlockedMs: 0, ticks: 0 };
  let lastWall = performance.now();
  let lastCpu = cpuMs();
  let timer: NodeJS.Timeout | undefined;
  /** `expected`: how long this gap should have been had nothing held the loop. */
  const sample = (expected: number) => {
    const wall = performance.now();
    const cpu = cpuMs();
    const late = Math.max(0, wall - lastWall - expected);
    report.maxDelayMs = Math.max(report.maxDelayMs, late);
    report.maxBlockedMs = Math.max(report.maxBlockedMs, Math.min(late, cpu - lastCpu));
    report.ticks++;
    lastWall = wall;
    lastCpu = cpu;
  };
  const tick = () => {
    sample(intervalMs);
    timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop() {
      clearTimeout(timer);
      // The stretch since the last tick counts too (a block at the very end, or a call too
      // short for any tick): all of it, bounded by the CPU this thread spent in it.
      sample(0);
      return { ...report };
    },
  };
}

/** Run `fn`, and fail if the event loop was blocked longer than `maxMs` while it ran. */
export async function expectNoLoopBlock<T>(fn: () => Promise<T>, maxMs = 100, what = 'the call'): Promise<T> {
  const watch = watchEventLoop();
  let value: T;
  try {
    value = await fn();
  } catch (err) {
    watch.stop();
    throw err;
  }
  const report = watch.stop();
  expect(
    report.maxBlockedMs,
    `${what} blocked the event loop for ${report.maxBlockedMs.toFixed(1)} ms`,
  ).toBeLessThanOrEqual(maxMs);
  return value;
}
