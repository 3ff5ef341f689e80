/**
 * Which warm calls run on the isolate host's own thread (isolated-vm `applySync`) instead of
 * handing the call to the isolate's thread and waiting for its answer (`apply`). A call on the
 * host's thread saves two thread wake-ups per invocation (docs/benchmarks.md, "What each step
 * bought"), but while its synchronous part runs the host serves nothing else: its other calls,
 * cancels and memory samples wait. So only a function that has proven fast gets it: `streak`
 * calls in a row, each done within FAST_MS. One call that is not (slower, or one that ended
 * timeout, memory_exceeded or killed) sends the function back to the isolate's thread, and it
 * then needs twice the streak to come back (up to MAX_STREAK); four times the streak without a
 * slow call halves it again. A slow call of a function on the host's thread can hold that host
 * for at most its own deadline, and only after at least `needed` fast calls.
 */

/**
 * A call must stay under this (ms spent in the isolate, isolated-vm's `cpuTime`: from entering it
 * to leaving it, so a call blocked in Atomics.wait counts, a call waiting for a thread does not)
 * for its function to keep the host's thread.
 */
export const FAST_MS = 2;
/** Fast calls in a row before a function first runs on the host's thread. */
export const FIRST_STREAK = 16;
const MAX_STREAK = 4096;
/** Fast calls in a row, as a multiple of the streak needed, that halve the streak needed. */
const DECAY_AFTER = 4;

export type SyncCallsMode = 'auto' | 'never';

interface FunctionRecord {
  /** Fast calls in a row so far. */
  fast: number;
  /** Fast calls in a row it needs (doubles after each demotion). */
  needed: number;
}

export class SyncCalls {
  readonly mode: SyncCallsMode;
  readonly #firstStreak: number;
  readonly #byDigest = new Map<string, FunctionRecord>();
  /** Calls run on the host's thread, and functions sent back to the isolate's thread, so far. */
  hostThreadCalls = 0;
  demotions = 0;

  constructor(mode: SyncCallsMode, firstStreak = FIRST_STREAK) {
    this.mode = mode;
    this.#firstStreak = firstStreak;
  }

  /** Whether this digest's next warm call runs on the host's thread. */
  onHostThread(digest: string): boolean {
    if (this.mode === 'never') return false;
    const record = this.#byDigest.get(digest) ?? (this.#firstStreak === 0 ? this.#recordOf(digest) : undefined);
    const yes = record !== undefined && record.fast >= record.needed;
    if (yes) this.hostThreadCalls++;
    return yes;
  }

  #recordOf(digest: string): FunctionRecord {
    let record = this.#byDigest.get(digest);
    if (!record) {
      record = { fast: 0, needed: this.#firstStreak };
      this.#byDigest.set(digest, record);
    }
    return record;
  }

  /**
   * What a call did: the time it spent in the isolate (on either thread; the wall time of a
   * disposed isolate's call), and whether it ended normally (a value or an error of the
   * function's own, not a limit).
   */
  record(digest: string, ms: number, normal: boolean): void {
    if (this.mode === 'never') return;
    const record = this.#recordOf(digest);
    if (normal && ms < FAST_MS) {
      record.fast = Math.min(record.fast + 1, MAX_STREAK * DECAY_AFTER);
      // A long clean run forgives one demotion (a call preempted on a busy machine counts as
      // slow too): four times the streak it needs halves the streak, down to the first one.
      if (record.needed > this.#firstStreak && record.fast >= record.needed * DECAY_AFTER) {
        record.needed = Math.max(this.#firstStreak, Math.floor(record.needed / 2));
        record.fast = record.needed;
      }
      return;
    }
    if (record.fast >= record.needed) {
      this.demotions++;
      record.needed = Math.min(Math.max(1, record.needed * 2), MAX_STREAK);
    }
    record.fast = 0;
  }

  forget(digest: string): void {
    this.#byDigest.delete(digest);
  }
}
