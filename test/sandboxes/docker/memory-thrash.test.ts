/**
 * The thrash watch's verdict from cgroup figures: a fake v1 and v2 tree for the reader, a fed
 * sequence for the watch (no sleeps: the watch is driven by its own interval, events awaited).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isThrashingOver,
  type MemoryPressure,
  readPressure,
  watchThrash,
} from '../../../sandboxes/docker/memory-thrash.ts';

const MIB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'strata-thrash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('memory thrash watch', () => {
  it('reads usage, limit hits and major faults from cgroup v1 and v2 files', () => {
    const v1 = join(root, 'v1');
    mkdirSync(v1);
    writeFileSync(join(v1, 'memory.usage_in_bytes'), `${96 * MIB}\n`);
    writeFileSync(join(v1, 'memory.failcnt'), '1234\n');
    writeFileSync(join(v1, 'memory.stat'), 'cache 1\npgmajfault 3\ntotal_pgmajfault 77\n');
    expect(readPressure({ version: 1, dirs: { memory: v1 } })).toEqual({
      usageBytes: 96 * MIB,
      limitHits: 1234,
      majorFaults: 77,
    });
    const v2 = join(root, 'v2');
    mkdirSync(v2);
    writeFileSync(join(v2, 'memory.current'), `${50 * MIB}\n`);
    writeFileSync(join(v2, 'memory.events'), 'low 0\nhigh 0\nmax 9\noom 0\noom_kill 0\n');
    writeFileSync(join(v2, 'memory.stat'), 'anon 1\npgfault 100\npgmajfault 5\n');
    expect(readPressure({ version: 2, dirs: { '': v2 } })).toEqual({
      usageBytes: 50 * MIB,
      limitHits: 9,
      majorFaults: 5,
    });
    expect(readPressure({ version: 2, dirs: { '': join(root, 'gone') } })).toEqual({});
  });

  it('calls it thrashing only at the limit with limit hits and major faults both rising', () => {
    const limit = 96 * MIB;
    const prev: MemoryPressure = { usageBytes: limit, limitHits: 10, majorFaults: 10 };
    expect(isThrashingOver([prev, { usageBytes: limit - MIB, limitHits: 11, majorFaults: 12 }], limit)).toBe(true);
    // Filling the page cache at the limit: hits, but no faults on code.
    expect(isThrashingOver([prev, { usageBytes: limit, limitHits: 50, majorFaults: 10 }], limit)).toBe(false);
    // Far below the limit.
    expect(isThrashingOver([prev, { usageBytes: limit / 2, limitHits: 11, majorFaults: 12 }], limit)).toBe(false);
    // Missing figures never convict.
    expect(isThrashingOver([prev, { usageBytes: limit, majorFaults: 12 }], limit)).toBe(false);
    expect(isThrashingOver([{}, { usageBytes: limit, limitHits: 11, majorFaults: 12 }], limit)).toBe(false);
  });

  it('judges a window: an interval with no new fault or hit does not clear a thrash, a sample below the limit does', () => {
    const limit = 64 * MIB;
    const at = (hits: number, faults: number, usageBytes = limit): MemoryPressure => ({
      usageBytes,
      limitHits: hits,
      majorFaults: faults,
    });
    // Faults only in some intervals (a process stalled in reclaim takes none for a while).
    expect(isThrashingOver([at(1, 5), at(2, 5), at(3, 5), at(4, 9), at(5, 9)], limit)).toBe(true);
    // One sample far below the limit: it let go of memory.
    expect(isThrashingOver([at(1, 5), at(2, 6), at(3, 7, limit / 2), at(4, 8), at(5, 9)], limit)).toBe(false);
    // No major fault over the whole window: the page cache filling up at the limit.
    expect(isThrashingOver([at(1, 5), at(2, 5), at(3, 5), at(4, 5), at(5, 5)], limit)).toBe(false);
    // The limit hit in one interval of four only.
    expect(isThrashingOver([at(1, 5), at(1, 6), at(1, 7), at(1, 8), at(2, 9)], limit)).toBe(false);
    // A missing figure never convicts.
    expect(isThrashingOver([at(1, 5), { usageBytes: limit, limitHits: 2 }, at(3, 9)], limit)).toBe(false);
  });

  it('fires once after the streak, and a calm sample resets the streak', async () => {
    const limit = 64 * MIB;
    let n = 0;
    const calmAt = 3;
    const reads: number[] = [];
    const read = (): MemoryPressure => {
      n++;
      reads.push(n);
      // Thrashing every sample except one calm one early on.
      return n === calmAt
        ? { usageBytes: limit / 4, limitHits: n, majorFaults: n }
        : { usageBytes: limit, limitHits: n, majorFaults: n };
    };
    let fired = 0;
    await new Promise<void>((resolve) => {
      watchThrash(
        undefined,
        () => {
          fired++;
          resolve();
        },
        { limitBytes: limit, intervalMs: 1, samples: 4, read },
      );
    });
    // Read 3 is calm (below the limit): the first window of five samples all at the limit is
    // reads 4–8, and the watch stops there.
    expect(reads.length).toBe(8);
    expect(fired).toBe(1);
  });
});
