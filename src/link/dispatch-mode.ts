/**
 * The hybrid dispatch policy: push while the worker is lightly loaded, pull above the high-water
 * mark, back to push below the low-water mark. Judged on the worker's own load smoothed over time
 * and held for a minimum dwell, so a burst (load 1 -> 0 -> 1 every few ms as tasks of 1 ms start
 * and end) switches once each way instead of once per task (issue 16 item 11).
 */
import type { LinkMode, ModePolicy } from '../protocol/wire.ts';

export function nextMode(policy: ModePolicy, current: LinkMode, load: number, high: number, low: number): LinkMode {
  if (policy !== 'hybrid') return policy;
  if (current === 'push' && load >= high) return 'pull';
  if (current === 'pull' && load <= low) return 'push';
  return current;
}

/**
 * Load in 0..1: the worker's own slots (running + queued tasks / capacity). The host's CPU is
 * deliberately not a term: other work on a shared host made an idle worker flap (issue 9); the
 * CPU figure is still reported in the heartbeat for placement and the dashboard.
 */
export function loadOf(unfinished: number, capacity: number): number {
  return Math.min(1, Math.max(0, unfinished / Math.max(1, capacity)));
}

export interface ModeHysteresis {
  /** Time constant of the load's exponential moving average (ms); 0 = the raw sample. */
  smoothingMs: number;
  /** Least time in a mode before switching again (ms). */
  dwellMs: number;
}

/** The smoothed load and the time of the last switch; `decide` is pure given the clock. */
export class ModeGovernor {
  smoothed = 0;
  #sampledAt: number | undefined;
  #switchedAt = Number.NEGATIVE_INFINITY;
  readonly #options: ModeHysteresis;

  constructor(options: ModeHysteresis) {
    this.#options = options;
  }

  /** Fold one load sample taken at `now` into the moving average. */
  sample(load: number, now: number): number {
    const { smoothingMs } = this.#options;
    if (this.#sampledAt === undefined || smoothingMs <= 0) this.smoothed = load;
    else {
      const dt = Math.max(0, now - this.#sampledAt);
      // A sample counts by the time it stood for: a burst of samples in one ms moves little.
      const alpha = 1 - Math.exp(-dt / smoothingMs);
      this.smoothed += alpha * (load - this.smoothed);
    }
    this.#sampledAt = now;
    return this.smoothed;
  }

  /** The mode to be in after a sample at `now` (hybrid only switches after the dwell). */
  decide(policy: ModePolicy, current: LinkMode, high: number, low: number, now: number): LinkMode {
    if (policy !== 'hybrid') return policy;
    if (now - this.#switchedAt < this.#options.dwellMs) return current;
    return nextMode(policy, current, this.smoothed, high, low);
  }

  switched(now: number): void {
    this.#switchedAt = now;
  }
}
