/** The timeouts given to isolated-vm: rounded up to a shared grid, never before the deadline. */
import { describe, expect, it } from 'vitest';
import { ivmTimeoutMs, TIMER_GRID_MS } from '../../../sandboxes/isolate/ivm-timeout.ts';

describe('ivmTimeoutMs', () => {
  it('ends on a grid boundary at or after the deadline, less than one grid later', () => {
    const now = 1_700_000_000_003;
    for (const ahead of [1, 7, 24, 25, 26, 999, 30_000]) {
      const deadline = now + ahead;
      const at = now + ivmTimeoutMs(deadline, now);
      expect(at % TIMER_GRID_MS).toBe(0);
      expect(at).toBeGreaterThanOrEqual(deadline);
      expect(at - deadline).toBeLessThan(TIMER_GRID_MS);
    }
  });

  it('gives calls whose deadlines fall in one grid interval the same end (one timer wake-up for all)', () => {
    const base = 1_700_000_000_000;
    const ends = new Set([1, 5, 13, 25].map((k) => base + k + ivmTimeoutMs(base + k + 10_000, base + k)));
    expect(ends.size).toBe(1);
  });

  it('is at least 1 ms for a deadline already passed (isolated-vm takes 0 as no timeout)', () => {
    expect(ivmTimeoutMs(100, 5_000)).toBeGreaterThanOrEqual(1);
  });
});
