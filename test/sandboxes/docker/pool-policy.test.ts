import { describe, expect, it } from 'vitest';
import { admit, idleEvictions, type PoolEntryView, poolKey } from '../../../sandboxes/docker/pool-policy.ts';

const limits = {
  timeoutMs: 1000,
  memoryMb: 128,
  logBytes: 1024,
  resultBytes: 1024,
  pids: 64,
  tmpMb: 64,
  errorBytes: 1024,
};
const e = (id: string, key: string, state: PoolEntryView['state'], lastUsedAt: number): PoolEntryView => ({
  id,
  key,
  state,
  lastUsedAt,
});

describe('pool key', () => {
  it('ignores timeout and log budget but not container limits, image or function', () => {
    const k = poolKey('img', limits);
    expect(poolKey('img', { ...limits, timeoutMs: 9, logBytes: 9 })).toBe(k);
    expect(poolKey('img', { ...limits, memoryMb: 64 })).not.toBe(k);
    expect(poolKey('img', { ...limits, cpu: 0.5 })).not.toBe(k);
    expect(poolKey('other', limits)).not.toBe(k);
    expect(poolKey('img', limits, 'digest-a')).not.toBe(k);
    expect(poolKey('img', limits, 'digest-a')).not.toBe(poolKey('img', limits, 'digest-b'));
  });
});

describe('admission', () => {
  const caps = { maxPerKey: 2, maxTotal: 3 };
  it('reuses the most recently used idle container of the key', () => {
    expect(admit([e('a', 'k', 'idle', 1), e('b', 'k', 'idle', 5), e('c', 'x', 'idle', 9)], 'k', caps)).toEqual({
      action: 'reuse',
      id: 'b',
    });
  });
  it('creates while under both caps, waits at the per-key cap', () => {
    expect(admit([e('a', 'k', 'busy', 1)], 'k', caps)).toEqual({ action: 'create' });
    expect(admit([e('a', 'k', 'busy', 1), e('b', 'k', 'starting', 1)], 'k', caps)).toEqual({ action: 'wait' });
  });
  it('evicts the least recently used idle container of another key at the total cap', () => {
    const entries = [e('a', 'k', 'busy', 1), e('b', 'x', 'idle', 5), e('c', 'y', 'idle', 2)];
    expect(admit(entries, 'k', caps)).toEqual({ action: 'evict-then-create', evictId: 'c' });
    expect(admit([e('a', 'k', 'busy', 1), e('b', 'x', 'busy', 5), e('c', 'y', 'busy', 2)], 'k', caps)).toEqual({
      action: 'wait',
    });
  });
  it('does not count dead containers', () => {
    expect(admit([e('a', 'k', 'dead', 1), e('b', 'k', 'dead', 1)], 'k', caps)).toEqual({ action: 'create' });
  });
});

describe('idle eviction', () => {
  const settings = (now: number, keyLastUsed: Record<string, number>) => ({
    now,
    idleTimeoutMs: 100,
    keyTtlMs: 1000,
    minPerKey: 1,
    keyLastUsed: new Map(Object.entries(keyLastUsed)),
  });
  it('keeps the minimum per key and evicts the oldest idle beyond it', () => {
    const entries = [e('a', 'k', 'idle', 0), e('b', 'k', 'idle', 50), e('c', 'k', 'idle', 190)];
    expect(idleEvictions(entries, settings(200, { k: 190 })).sort()).toEqual(['a', 'b']);
  });
  it('never evicts busy containers or recent idle ones', () => {
    const entries = [e('a', 'k', 'busy', 0), e('b', 'k', 'idle', 150)];
    expect(idleEvictions(entries, settings(200, { k: 150 }))).toEqual([]);
  });
  it('drops every idle container of a key unused past its TTL', () => {
    const entries = [e('a', 'k', 'idle', 0), e('b', 'x', 'idle', 1900)];
    expect(idleEvictions(entries, settings(2000, { k: 0, x: 1900 }))).toEqual(['a']);
  });
});
