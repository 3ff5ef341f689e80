/** The executor's pure parts: tier policy, limit resolution and the admission queue's order. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { TierHealth } from '../../src/core/driver.ts';
import type { TierName } from '../../src/core/tiers.ts';
import { AdmissionQueue } from '../../src/executor/admission-queue.ts';
import { resolveLimits } from '../../src/executor/limits.ts';
import { type PolicyTable, pickTier } from '../../src/executor/policy.ts';

const config = loadConfig({ env: {} });
const up: TierHealth = { available: true };
const down = (reason: string): TierHealth => ({ available: false, reason });
const all = (health: TierHealth = up): Partial<Record<TierName, TierHealth>> => ({
  isolate: health,
  wasm: health,
  process: health,
  docker: health,
});

describe('pickTier', () => {
  it('picks the first available tier of the default table', () => {
    expect(pickTier({ runtime: 'js', trust: 'trusted' }, config.policy, all())).toEqual({ tier: 'isolate' });
    expect(pickTier({ runtime: 'js', trust: 'standard' }, config.policy, all())).toEqual({ tier: 'wasm' });
    expect(pickTier({ runtime: 'js', trust: 'untrusted' }, config.policy, all())).toEqual({ tier: 'docker' });
    expect(pickTier({ runtime: 'wasm', trust: 'untrusted' }, config.policy, all())).toEqual({ tier: 'wasm' });
  });

  it('follows the table order past unavailable tiers', () => {
    const health = { ...all(), wasm: down('no wasm hosts'), process: down('no bwrap') };
    expect(pickTier({ runtime: 'js', trust: 'standard' }, config.policy, health)).toEqual({ tier: 'docker' });
    const noDocker = { ...all(), docker: down('daemon down') };
    expect(pickTier({ runtime: 'js', trust: 'untrusted' }, config.policy, noDocker)).toEqual({ tier: 'process' });
  });

  it('never places a function below its trust floor, even when the table lists a weaker tier', () => {
    const policy: PolicyTable = {
      table: { js: { standard: ['isolate', 'process'], untrusted: ['isolate'] } },
      floor: { trusted: 'isolate', standard: 'wasm', untrusted: 'wasm' },
    };
    // isolate is available and first in the list, but below the floor.
    expect(pickTier({ runtime: 'js', trust: 'standard' }, policy, all())).toEqual({ tier: 'process' });
    const placement = pickTier({ runtime: 'js', trust: 'untrusted' }, policy, all());
    expect(placement.tier).toBeNull();
    if (placement.tier === null) expect(placement.error.code).toBe('unsupported_runtime');
    // When the allowed tier is down, the error names it, not the weaker one.
    const noProcess = pickTier({ runtime: 'js', trust: 'standard' }, policy, { ...all(), process: down('no bwrap') });
    expect(noProcess.tier).toBeNull();
    if (noProcess.tier === null) {
      expect(noProcess.error.code).toBe('tier_unavailable');
      expect(noProcess.error.message).toMatch(/need the process tier/);
      expect(noProcess.error.message).not.toMatch(/isolate/);
    }
  });

  it('answers tier_unavailable naming the missing tiers and why', () => {
    const health = { ...all(), docker: down('the Docker daemon is not reachable'), process: down('bwrap missing') };
    const placement = pickTier({ runtime: 'js', trust: 'untrusted' }, config.policy, health);
    expect(placement.tier).toBeNull();
    if (placement.tier !== null) return;
    expect(placement.error.code).toBe('tier_unavailable');
    expect(placement.error.message).toMatch(/docker or process/);
    expect(placement.error.message).toMatch(/docker: the Docker daemon is not reachable/);
    expect(placement.error.message).toMatch(/process: bwrap missing/);
  });

  it('answers unsupported_runtime when no tier is listed or none is built into the worker', () => {
    const http = pickTier({ runtime: 'http', trust: 'trusted' }, config.policy, all());
    expect(http).toMatchObject({ tier: null, error: { code: 'unsupported_runtime' } });
    const notBuilt = pickTier({ runtime: 'container', trust: 'standard' }, config.policy, { isolate: up });
    expect(notBuilt).toMatchObject({ tier: null, error: { code: 'unsupported_runtime' } });
    if (notBuilt.tier === null) expect(notBuilt.error.message).toMatch(/not built into this worker/);
  });
});

describe('resolveLimits', () => {
  const MiB = 1024 ** 2;
  const node = loadConfig({
    env: {},
    overrides: { 'limits.max.timeout': '60s', 'limits.max.memory': '1GiB', 'limits.max.cpu': 2 },
  }).limits;

  it('fills in the node defaults', () => {
    const limits = resolveLimits({}, node);
    expect(limits).toEqual({
      timeoutMs: 5000,
      memoryMb: 128,
      logBytes: MiB,
      resultBytes: 8 * MiB,
      pids: 64,
      tmpMb: 64,
    });
  });

  it('keeps what the manifest asks within the caps and caps the rest', () => {
    expect(resolveLimits({ timeoutMs: 1500, memoryMb: 256, fuel: 1000 }, node)).toMatchObject({
      timeoutMs: 1500,
      memoryMb: 256,
      fuel: 1000,
    });
    const capped = resolveLimits(
      { timeoutMs: 10 * 60_000, memoryMb: 8192, cpu: 16, memorySoftMb: 4096, logBytes: 1024 ** 3 },
      node,
    );
    expect(capped).toMatchObject({ timeoutMs: 60_000, memoryMb: 1024, cpu: 2, memorySoftMb: 1024, logBytes: 16 * MiB });
  });

  it('lets a tighter timeout override win, never a looser one', () => {
    expect(resolveLimits({ timeoutMs: 3000 }, node, { timeoutMs: 500 }).timeoutMs).toBe(500);
    expect(resolveLimits({ timeoutMs: 3000 }, node, { timeoutMs: 9000 }).timeoutMs).toBe(3000);
    expect(resolveLimits({}, node, { timeoutMs: 0 }).timeoutMs).toBe(5000);
  });
});

describe('AdmissionQueue', () => {
  interface Item {
    name: string;
    priority: number;
    seq: number;
  }

  it('orders by priority, then first come first served, and removes items', () => {
    const queue = new AdmissionQueue<Item>();
    const items: Item[] = [
      ['a', 0],
      ['b', 5],
      ['c', 0],
      ['d', 9],
      ['e', 5],
      ['f', 0],
    ].map(([name, priority], seq) => ({ name: name as string, priority: priority as number, seq }));
    for (const item of items) queue.push(item);
    expect(queue.length).toBe(6);
    expect([...queue].map((i) => i.name).join('')).toBe('dbeacf');
    expect(queue.remove(items[4] as Item)).toBe(true);
    expect(queue.remove(items[4] as Item)).toBe(false);
    const order: string[] = [];
    for (let item = queue.shift(); item; item = queue.shift()) order.push(item.name);
    expect(order.join('')).toBe('dbacf');
    expect(queue.length).toBe(0);
  });

  it('puts a re-queued item back in its original place (same seq)', () => {
    const queue = new AdmissionQueue<Item>();
    const first = { name: 'first', priority: 1, seq: 1 };
    queue.push({ name: 'later', priority: 1, seq: 2 });
    queue.push(first);
    expect(queue.shift()).toBe(first);
    queue.push(first);
    expect([...queue].map((i) => i.name)).toEqual(['first', 'later']);
  });
});
