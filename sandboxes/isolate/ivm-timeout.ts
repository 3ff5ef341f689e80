/**
 * The `timeout` given to isolated-vm for a call. isolated-vm keeps a timer per call on a thread
 * of its own that wakes at each timer's time even when the call is long over (a finished call's
 * timer is only marked dead): one wake-up of that thread per call, ~10% of a busy isolate
 * host's CPU. Deadlines rounded up to a TIMER_GRID_MS boundary of the clock share one wake-up
 * (the thread pops every timer that is due when it wakes), so a host wakes it at most
 * 1000 / TIMER_GRID_MS times a second. The cost: a call isolated-vm has to stop (one running on
 * the host's thread, which the host's own deadline timer cannot interrupt) ends at most
 * TIMER_GRID_MS after its deadline.
 */
export const TIMER_GRID_MS = 25;

/** Milliseconds from `now` to the first grid boundary at or after `deadline` (at least 1). */
export function ivmTimeoutMs(deadline: number, now = Date.now()): number {
  const at = Math.ceil(Math.max(deadline, now + 1) / TIMER_GRID_MS) * TIMER_GRID_MS;
  return at - now;
}
