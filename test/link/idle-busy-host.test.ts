import { describe, expect, it } from 'vitest';
import { loadOf, ModeGovernor } from '../../src/link/dispatch-mode.ts';

/**
 * Issue 9: hybrid dispatch flipped 20 times in 7 idle minutes because it read the host's CPU.
 * The mode now follows the worker's own load only; drive the real governor with an injected clock.
 */
describe('hybrid dispatch on a busy host', () => {
  // The old signature took the host CPU as a third argument: pass it anyway, it must not count.
  const loadWithCpu = loadOf as (unfinished: number, capacity: number, cpuUsage?: number) => number;

  function run(start: 'push' | 'pull', unfinished: number, capacity: number) {
    const g = new ModeGovernor({ smoothingMs: 1000, dwellMs: 2000 });
    let mode = start;
    let switches = 0;
    // Seven minutes of heartbeats every 500 ms, the host pinned at 100% CPU with brief dips.
    for (let at = 0; at <= 7 * 60_000; at += 500) {
      const cpu = at % 30_000 < 1000 ? 0.2 : 1;
      g.sample(loadWithCpu(unfinished, capacity, cpu), at);
      const next = g.decide('hybrid', mode, 0.8, 0.5, at);
      if (next !== mode) {
        g.switched(at);
        mode = next;
        switches++;
      }
    }
    return { mode, switches };
  }

  it('an idle worker (0 unfinished) on a host at 100% CPU stays in push', () => {
    expect(loadWithCpu(0, 4, 1)).toBe(0);
    expect(run('push', 0, 4)).toEqual({ mode: 'push', switches: 0 });
  });

  it('a worker between the marks keeps whichever mode it is in, whatever the host CPU', () => {
    expect(run('push', 5, 8)).toEqual({ mode: 'push', switches: 0 });
    expect(run('pull', 5, 8)).toEqual({ mode: 'pull', switches: 0 });
  });
});
