/** LogBudget (head + tail + dropped-bytes marker) and usageOf (only measured figures). */
import { describe, expect, it } from 'vitest';
import { usageOf } from '../../src/core/execution.ts';
import { LogBudget } from '../../src/core/log-budget.ts';

const bytes = (s: string) => Buffer.byteLength(s);
const marker = (text: string) => /\n…\[(\d+) bytes of log output dropped\]…\n/.exec(text);

describe('LogBudget', () => {
  it('keeps everything under the budget, with no marker', () => {
    const log = new LogBudget(1024);
    log.write('hello\n');
    log.write('world\n');
    expect(log.text()).toBe('hello\nworld\n');
    expect(log.droppedBytes).toBe(0);
    expect(log.totalBytes).toBe(12);
  });

  it('keeps the head and the tail and says how many bytes were dropped', () => {
    const log = new LogBudget(1000);
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`);
    for (const line of lines) log.write(line);
    const text = log.text();
    const all = lines.join('');
    expect(text.startsWith('line 0\nline 1\n')).toBe(true);
    expect(text.endsWith('line 1998\nline 1999\n')).toBe(true);
    const m = marker(text);
    expect(m).not.toBeNull();
    const dropped = Number(m?.[1]);
    expect(dropped).toBe(log.droppedBytes);
    const kept = text.replace(m?.[0] as string, '');
    expect(bytes(kept)).toBeLessThanOrEqual(1000);
    expect(bytes(kept) + dropped).toBe(bytes(all));
    expect(log.totalBytes).toBe(bytes(all));
    // What is kept is exactly the start and the end of what was written.
    const { head, tail } = log.snapshot();
    expect(all.startsWith(head)).toBe(true);
    expect(all.endsWith(tail)).toBe(true);
  });

  it('bounds memory for one huge write', () => {
    const log = new LogBudget(512);
    log.write('a'.repeat(10_000_000));
    const { head, tail, droppedBytes } = log.snapshot();
    expect(bytes(head) + bytes(tail)).toBeLessThanOrEqual(512);
    expect(droppedBytes).toBe(10_000_000 - bytes(head) - bytes(tail));
  });

  it('never splits a UTF-8 character at the head or tail boundary', () => {
    for (const char of ['é', '€', '𝄞']) {
      const log = new LogBudget(257);
      for (let i = 0; i < 300; i++) log.write(char.repeat(3));
      const { head, tail, droppedBytes } = log.snapshot();
      expect(head).not.toContain('\uFFFD');
      expect(tail).not.toContain('\uFFFD');
      expect(Buffer.from(head).toString()).toBe(head);
      expect(head.length % char.length).toBe(0);
      expect([...head].every((c) => c === char)).toBe(true);
      expect([...tail].every((c) => c === char)).toBe(true);
      expect(bytes(head) + bytes(tail) + droppedBytes).toBe(300 * 3 * bytes(char));
    }
  });

  it('has a minimum budget of 256 bytes', () => {
    expect(new LogBudget(10).budget).toBe(256);
  });

  it('restores a snapshot from another budget, keeping the gap and the order', () => {
    const host = new LogBudget(400);
    for (let i = 0; i < 500; i++) host.write(`h${i}\n`);
    const snapshot = host.snapshot();

    const parent = new LogBudget(400);
    parent.write('before\n');
    parent.restore(snapshot);
    parent.write('after\n');
    const text = parent.text();
    expect(text.startsWith('before\nh0\n')).toBe(true);
    expect(text.endsWith('h499\nafter\n')).toBe(true);
    expect(parent.droppedBytes).toBeGreaterThanOrEqual(snapshot.droppedBytes);
    expect(parent.totalBytes).toBe(bytes('before\n') + host.totalBytes + bytes('after\n'));
    expect(marker(text)?.[1]).toBe(String(parent.droppedBytes));
  });

  it('restores a small snapshot with a gap so that later output goes after the marker', () => {
    const parent = new LogBudget(1000);
    parent.restore({ head: 'start\n', tail: 'end\n', droppedBytes: 50 });
    parent.write('later\n');
    const text = parent.text();
    expect(text).toBe('start\n\n…[50 bytes of log output dropped]…\nend\nlater\n');
  });
});

describe('usageOf', () => {
  it('lists exactly the finite figures given, and leaves the rest out', () => {
    const usage = usageOf({ wallMs: 12.5, cpuMs: 3, memoryPeakBytes: undefined, ioReadBytes: Number.NaN });
    expect(usage).toEqual({ wallMs: 12.5, cpuMs: 3, measured: ['wallMs', 'cpuMs'] });
    expect(usage).not.toHaveProperty('memoryPeakBytes');
    expect(usage).not.toHaveProperty('ioReadBytes');
  });

  it('keeps a measured zero (it was read, not guessed)', () => {
    const usage = usageOf({ wallMs: 1, netTxBytes: 0 });
    expect(usage.netTxBytes).toBe(0);
    expect(usage.measured).toContain('netTxBytes');
  });
});
