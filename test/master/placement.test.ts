import { describe, expect, it } from 'vitest';
import { type Candidate, fits, hasCapacity, pickWorker } from '../../src/master/placement.ts';

const base = (over: Partial<Candidate>): Candidate => ({
  id: 'w',
  status: 'ok',
  connected: true,
  draining: false,
  mode: 'push',
  window: 4,
  pullBudget: 0,
  assigned: 0,
  concurrency: 4,
  labels: {},
  tiers: [],
  backoffUntil: 0,
  ...over,
});

describe('placement', () => {
  it('picks the least-loaded worker, ok before degraded', () => {
    const ws = [
      base({ id: 'busy', assigned: 3 }),
      base({ id: 'idle', assigned: 0, status: 'degraded' }),
      base({ id: 'light', assigned: 1 }),
    ];
    expect(pickWorker(ws, { runtime: 'js', labels: {} }, 0)?.id).toBe('light');
  });
  it('push needs room in the window; pull needs a pull budget', () => {
    expect(hasCapacity(base({ assigned: 4 }), 0)).toBe(false);
    expect(hasCapacity(base({ mode: 'pull', pullBudget: 0 }), 0)).toBe(false);
    expect(hasCapacity(base({ mode: 'pull', pullBudget: 1, assigned: 10 }), 0)).toBe(true);
  });
  it('never places on lost, maintenance, draining, disconnected or backing-off workers', () => {
    for (const over of [
      { status: 'lost' as const },
      { status: 'maintenance' as const },
      { draining: true },
      { connected: false },
      { backoffUntil: 100 },
    ])
      expect(hasCapacity(base(over), 50)).toBe(false);
  });
  it('respects labels and the tiers a runtime needs', () => {
    const w = base({
      labels: { zone: 'a' },
      tiers: [
        { name: 'isolate', available: true },
        { name: 'wasm', available: false },
      ],
    });
    expect(fits(w, { runtime: 'js', labels: { zone: 'a' } })).toBe(true);
    expect(fits(w, { runtime: 'js', labels: { zone: 'b' } })).toBe(false);
    expect(fits(w, { runtime: 'wasm', labels: {} })).toBe(false);
    expect(fits(w, { runtime: 'http', labels: {} })).toBe(true);
  });
});
