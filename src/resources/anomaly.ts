/**
 * Usage baseline per function version: an exponentially weighted mean and variance of cpuMs and
 * memoryPeakBytes. An invocation far above its baseline is flagged. Pure functions.
 */

export interface Stat {
  count: number;
  mean: number;
  variance: number;
}

export interface Baseline {
  cpuMs: Stat;
  memoryPeakBytes: Stat;
}

export interface AnomalySettings {
  /** Weight of the newest value (0..1]. */
  alpha: number;
  /** Deviations above the mean that count as an anomaly. */
  threshold: number;
  /** Values seen before anything is flagged. */
  minSamples: number;
}

export type AnomalyFlag = 'cpu_high' | 'memory_high';

/** The figures a baseline learns from (only measured ones are passed). */
export interface BaselineSample {
  cpuMs?: number;
  memoryPeakBytes?: number;
}

const EMPTY: Stat = { count: 0, mean: 0, variance: 0 };
export const emptyBaseline = (): Baseline => ({ cpuMs: { ...EMPTY }, memoryPeakBytes: { ...EMPTY } });

/**
 * Deviations below this floor are noise: a function that always takes 2 ms must not be flagged
 * for 3 ms. The floor is 10% of the mean plus an absolute minimum per figure.
 */
const ABS_FLOOR: Record<keyof Baseline, number> = { cpuMs: 5, memoryPeakBytes: 1024 * 1024 };

/** West's EWMA update of mean and variance. */
export function updateStat(s: Stat, x: number, alpha: number): Stat {
  if (s.count === 0) return { count: 1, mean: x, variance: 0 };
  const diff = x - s.mean;
  const incr = alpha * diff;
  return { count: s.count + 1, mean: s.mean + incr, variance: (1 - alpha) * (s.variance + diff * incr) };
}

/** How many deviations `x` lies above the mean (negative when below). */
export function deviations(s: Stat, x: number, field: keyof Baseline): number {
  const sd = Math.max(Math.sqrt(s.variance), 0.1 * Math.abs(s.mean), ABS_FLOOR[field]);
  return (x - s.mean) / sd;
}

export function updateBaseline(b: Baseline, sample: BaselineSample, alpha: number): Baseline {
  return {
    cpuMs: sample.cpuMs === undefined ? b.cpuMs : updateStat(b.cpuMs, sample.cpuMs, alpha),
    memoryPeakBytes:
      sample.memoryPeakBytes === undefined
        ? b.memoryPeakBytes
        : updateStat(b.memoryPeakBytes, sample.memoryPeakBytes, alpha),
  };
}

/** Flags for a sample judged against the baseline built from earlier invocations. */
export function detectAnomalies(b: Baseline, sample: BaselineSample, settings: AnomalySettings): AnomalyFlag[] {
  const flags: AnomalyFlag[] = [];
  const check = (field: keyof Baseline, flag: AnomalyFlag) => {
    const x = sample[field];
    const s = b[field];
    if (x === undefined || s.count < settings.minSamples) return;
    if (deviations(s, x, field) > settings.threshold) flags.push(flag);
  };
  check('cpuMs', 'cpu_high');
  check('memoryPeakBytes', 'memory_high');
  return flags;
}

/** Judge first, then learn: returns the flags and the updated baseline. */
export function observe(
  b: Baseline,
  sample: BaselineSample,
  settings: AnomalySettings,
): { flags: AnomalyFlag[]; baseline: Baseline } {
  return { flags: detectAnomalies(b, sample, settings), baseline: updateBaseline(b, sample, settings.alpha) };
}
