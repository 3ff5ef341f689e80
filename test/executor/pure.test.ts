/** The executor's pure parts: tier policy, permission caps, limit resolution and the admission queue's order. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { DriverCapabilities, TierHealth } from '../../src/core/driver.ts';
import type { ErrorCode } from '../../src/core/errors.ts';
import type { ExecutionRecord } from '../../src/core/execution.ts';
import { manifestSchema } from '../../src/core/manifest.ts';
import type { TierName } from '../../src/core/tiers.ts';
import { AdmissionQueue } from '../../src/executor/admission-queue.ts';
import { deathOf } from '../../src/executor/death.ts';
import { resolveLimits } from '../../src/executor/limits.ts';
import { permissionRefusal } from '../../src/executor/permissions.ts';
import { type PolicyTable, pickTier, type TierView } from '../../src/executor/policy.ts';
import { nestsDeeperThan, sealRecord } from '../../src/executor/record-seal.ts';

const config = loadConfig({ env: {} });
const up: TierHealth = { available: true };
const down = (reason: string): TierHealth => ({ available: false, reason });

/** What the four built-in tiers declare today (runtimes and network). */
const CAPS: Record<TierName, Pick<DriverCapabilities, 'runtimes' | 'network'>> = {
  isolate: { runtimes: ['js'], network: 'none' },
  wasm: { runtimes: ['wasm', 'js'], network: 'none' },
  process: { runtimes: ['script'], network: 'all' },
  docker: { runtimes: ['container', 'js', 'script'], network: 'none' },
  http: { runtimes: ['http'], network: 'allowlist' },
};
type Tiers = Partial<Record<TierName, TierHealth | TierView>>;
/** Every tier up, with overrides (a health, or a whole view); a tier set to undefined is not built. */
const tiers =
  (over: Tiers = {}, base: Tiers = { isolate: up, wasm: up, process: up, docker: up }) =>
  (tier: TierName): TierView | undefined => {
    const given = tier in over ? over[tier] : base[tier];
    if (given === undefined) return undefined;
    return 'capabilities' in given ? given : { capabilities: CAPS[tier], health: given };
  };

describe('pickTier', () => {
  it('picks the first available tier of the default table; requested is the same tier', () => {
    const place = (runtime: 'js' | 'wasm', trust: 'trusted' | 'standard' | 'untrusted') =>
      pickTier({ runtime, trust }, config.policy, tiers());
    expect(place('js', 'trusted')).toEqual({ tier: 'isolate', requested: 'isolate' });
    expect(place('js', 'standard')).toEqual({ tier: 'wasm', requested: 'wasm' });
    expect(place('js', 'untrusted')).toEqual({ tier: 'docker', requested: 'docker' });
    expect(place('wasm', 'untrusted')).toEqual({ tier: 'wasm', requested: 'wasm' });
  });

  it('follows the table order past unavailable tiers and says why in the reason', () => {
    const placed = pickTier(
      { runtime: 'js', trust: 'standard' },
      config.policy,
      tiers({ wasm: down('no wasm hosts') }),
    );
    // process is next in the table but cannot run JS: docker.
    expect(placed).toEqual({ tier: 'docker', requested: 'wasm', reason: 'unavailable: wasm (no wasm hosts)' });
    const script = pickTier(
      { runtime: 'script', trust: 'untrusted' },
      config.policy,
      tiers({ docker: down('daemon down') }),
    );
    expect(script).toEqual({ tier: 'process', requested: 'docker', reason: 'unavailable: docker (daemon down)' });
  });

  it('never places a function on a tier whose capabilities do not cover its runtime', () => {
    // The case: untrusted JS with Docker down went to the process tier, which refuses JS.
    const placement = pickTier(
      { runtime: 'js', trust: 'untrusted' },
      config.policy,
      tiers({ docker: down('daemon down') }),
    );
    expect(placement.tier).toBeNull();
    if (placement.tier !== null) return;
    expect(placement.error.code).toBe('tier_unavailable');
    expect(placement.requested).toBe('docker');
    expect(placement.error.message).toMatch(/docker: daemon down/);
    expect(placement.error.message).toMatch(/process: cannot run "js" functions/);
    // A tier the table names that declares no such runtime is skipped even when it is up.
    const policy: PolicyTable = { table: { wasm: { standard: ['process', 'wasm'] } }, floor: config.policy.floor };
    expect(pickTier({ runtime: 'wasm', trust: 'standard' }, policy, tiers())).toEqual({
      tier: 'wasm',
      requested: 'wasm',
    });
    const none = pickTier({ runtime: 'wasm', trust: 'standard' }, policy, tiers({ wasm: undefined }));
    expect(none).toMatchObject({ tier: null, requested: null, error: { code: 'unsupported_runtime' } });
  });

  it('never places a function below its trust floor, even when the table lists a weaker tier', () => {
    const policy: PolicyTable = {
      table: { js: { standard: ['isolate', 'docker'], untrusted: ['isolate'] } },
      floor: { trusted: 'isolate', standard: 'wasm', untrusted: 'wasm' },
    };
    // isolate is available and first in the list, but below the floor.
    expect(pickTier({ runtime: 'js', trust: 'standard' }, policy, tiers())).toEqual({
      tier: 'docker',
      requested: 'docker',
    });
    const placement = pickTier({ runtime: 'js', trust: 'untrusted' }, policy, tiers());
    expect(placement.tier).toBeNull();
    if (placement.tier === null) expect(placement.error.code).toBe('unsupported_runtime');
    // When the allowed tier is down, the error names it, not the weaker one.
    const noDocker = pickTier({ runtime: 'js', trust: 'standard' }, policy, tiers({ docker: down('daemon down') }));
    expect(noDocker.tier).toBeNull();
    if (noDocker.tier === null) {
      expect(noDocker.error.code).toBe('tier_unavailable');
      expect(noDocker.error.message).toMatch(/need the docker tier/);
      expect(noDocker.error.message).not.toMatch(/isolate/);
    }
  });

  it('answers tier_unavailable naming the missing tiers and why', () => {
    const health = tiers({ docker: down('the Docker daemon is not reachable'), process: down('bwrap missing') });
    const placement = pickTier({ runtime: 'script', trust: 'untrusted' }, config.policy, health);
    expect(placement.tier).toBeNull();
    if (placement.tier !== null) return;
    expect(placement.error.code).toBe('tier_unavailable');
    expect(placement.error.message).toMatch(/docker or process/);
    expect(placement.error.message).toMatch(/docker: the Docker daemon is not reachable/);
    expect(placement.error.message).toMatch(/process: bwrap missing/);
    expect(placement.reason).toBe(placement.error.message);
  });

  it('answers unsupported_runtime when no tier is listed or none is built into the worker', () => {
    const http = pickTier({ runtime: 'http', trust: 'trusted' }, config.policy, tiers());
    expect(http).toMatchObject({ tier: null, requested: null, error: { code: 'unsupported_runtime' } });
    const notBuilt = pickTier({ runtime: 'container', trust: 'standard' }, config.policy, tiers({}, { isolate: up }));
    expect(notBuilt).toMatchObject({ tier: null, error: { code: 'unsupported_runtime' } });
    if (notBuilt.tier === null) expect(notBuilt.error.message).toMatch(/not built into this worker/);
  });

  it('places a network ask only on a tier that can grant it, else permission_denied naming it', () => {
    // process grants all-or-nothing: it cannot enforce an allow-list, docker grants none.
    const allow = pickTier({ runtime: 'script', trust: 'trusted', network: 'allowlist' }, config.policy, tiers());
    expect(allow).toMatchObject({ tier: null, requested: null, error: { code: 'permission_denied' } });
    if (allow.tier === null) expect(allow.error.message).toMatch(/permissions.network.*allow-list/);
    expect(pickTier({ runtime: 'script', trust: 'trusted', network: 'all' }, config.policy, tiers())).toEqual({
      tier: 'process',
      requested: 'process',
    });
    const enforcing = { capabilities: { runtimes: ['script' as const], network: 'allowlist' as const }, health: up };
    expect(
      pickTier(
        { runtime: 'script', trust: 'trusted', network: 'allowlist' },
        config.policy,
        tiers({ process: enforcing }),
      ),
    ).toEqual({ tier: 'process', requested: 'process' });
  });

  it('escalates to a stronger tier when asked, keeping requested and the reason', () => {
    const policy: PolicyTable = {
      table: { js: { trusted: ['isolate', 'wasm', 'docker'] } },
      floor: config.policy.floor,
    };
    const escalate = { atLeast: 'wasm' as const, reason: 'escalated: review rule js-eval (line 3)' };
    expect(pickTier({ runtime: 'js', trust: 'trusted', escalate }, policy, tiers())).toEqual({
      tier: 'wasm',
      requested: 'isolate',
      reason: 'escalated: review rule js-eval (line 3)',
    });
  });
});

describe('permissionRefusal (policy.permissions)', () => {
  const manifest = (trust: string, network: unknown) =>
    manifestSchema.parse({
      name: 'f',
      runtime: 'script',
      interpreter: 'sh',
      source: 'true',
      trust,
      permissions: { network },
    });

  it('caps network per trust level: trusted allowlist, standard and untrusted none', () => {
    const caps = config.policy.permissions;
    expect(permissionRefusal(manifest('trusted', { allow: ['api.example.com:443'] }), caps)).toBeUndefined();
    expect(permissionRefusal(manifest('trusted', ['api.example.com']), caps)).toBeUndefined();
    expect(permissionRefusal(manifest('standard', false), caps)).toBeUndefined();
    expect(permissionRefusal(manifest('standard', { allow: [] }), caps)).toBeUndefined();
    const all = permissionRefusal(manifest('trusted', true), caps);
    expect(all?.code).toBe('permission_denied');
    expect(all?.message).toMatch(/permissions\.network/);
    expect(all?.message).toMatch(/policy\.permissions\.trusted\.network = allowlist/);
    expect(all?.details).toEqual({ permission: 'network', asked: 'all', cap: 'allowlist' });
    // The legacy array form means an allow-list, and standard may ask none.
    expect(permissionRefusal(manifest('standard', ['10.0.0.0/8']), caps)?.details).toMatchObject({
      asked: 'allowlist',
    });
    expect(permissionRefusal(manifest('untrusted', true), caps)?.code).toBe('permission_denied');
  });

  it('follows the configured caps', () => {
    const open = loadConfig({ env: {}, overrides: { 'policy.permissions.standard.network': 'all' } }).policy
      .permissions;
    expect(permissionRefusal(manifest('standard', true), open)).toBeUndefined();
    expect(() => loadConfig({ env: {}, overrides: { 'policy.permissions.standard.network': 'some' } })).toThrow();
  });

  it('validates allow-list entries in the manifest', () => {
    for (const ok of ['api.example.com', 'api.example.com:443', '10.1.2.0/24', '[::1]:8080', 'fd00::/8', '127.0.0.1']) {
      expect(() => manifest('trusted', { allow: [ok] }), ok).not.toThrow();
    }
    for (const bad of ['http://x', 'a b', 'host:99999', '10.0.0.0/40', '', 'x:1:2']) {
      expect(() => manifest('trusted', { allow: [bad] }), bad).toThrow();
    }
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
      errorBytes: 16 * 1024,
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

describe('deathOf and the record seal', () => {
  const limits = resolveLimits({ timeoutMs: 150, memoryMb: 64, fuel: 1000 }, config.limits);
  const usage = { wallMs: 3, measured: ['wallMs' as const] };
  const at = '2026-01-01T00:00:00.000Z';
  const death = (status: ExecutionRecord['status'], code?: ErrorCode, message = '') =>
    deathOf({ status, usage, ...(code ? { error: { code, message } } : {}) }, undefined, limits, at);

  it('derives a cause and limit from status and code, none for a success', () => {
    expect(death('succeeded')).toBeUndefined();
    expect(death('timeout', 'timeout')).toEqual({ cause: 'time', limit: 150, at, usage });
    expect(death('memory_exceeded', 'memory_exceeded')).toEqual({ cause: 'memory', limit: 64, at, usage });
    expect(death('killed', 'fuel_exhausted')).toMatchObject({ cause: 'fuel', limit: 1000 });
    expect(death('killed', 'protocol_violation')).toMatchObject({ cause: 'protocol' });
    expect(death('killed', 'sandbox_crashed')).toMatchObject({ cause: 'crash' });
    expect(death('killed', 'reclaimed')).toMatchObject({ cause: 'cancel' });
    expect(death('killed', 'limit_exceeded', 'stopped: too much output; raise limits.logBytes')).toMatchObject({
      cause: 'log',
      limit: limits.logBytes,
    });
    expect(death('failed', 'function_error')).toEqual({ cause: 'error', at, usage });
    expect(death('rejected', 'plugin_rejected')).toMatchObject({ cause: 'error' });
  });

  it('prefers what the tier reported', () => {
    const told = { cause: 'disk' as const, limit: 8, usage: { wallMs: 9, measured: [] } };
    expect(deathOf({ status: 'killed', usage }, told, limits, at)).toEqual({ ...told, at });
  });

  it('finds deep and cyclic values without recursion', () => {
    expect(nestsDeeperThan(1, 1)).toBe(false);
    expect(nestsDeeperThan([[1]], 2)).toBe(false);
    expect(nestsDeeperThan([[[1]]], 2)).toBe(true);
    expect(nestsDeeperThan({ a: { b: {} } }, 3)).toBe(false);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(nestsDeeperThan(cyclic, 1000)).toBe(true);
    let deep: unknown = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(nestsDeeperThan(deep, 1000)).toBe(true);
  });

  it('seals a record over the size bound as result_too_large, and stores the rest', () => {
    const record: ExecutionRecord = {
      id: 'r',
      function: { name: 'f', version: 1, digest: 'd' },
      status: 'succeeded',
      result: 'x'.repeat(200_000),
      logs: '',
      usage,
      tier: 'isolate',
      priority: 0,
      source: 'http',
      timings: { queuedMs: 0, enqueuedAt: at, startedAt: at, finishedAt: at },
    };
    const json = sealRecord(record, { resultBytes: 1000, logBytes: 1000, errorBytes: 1000 }, 1000);
    expect(JSON.parse(json)).toMatchObject({
      status: 'failed',
      error: { code: 'result_too_large' },
      death: { cause: 'result', limit: 1000 },
    });
    expect(record).not.toHaveProperty('result');
  });
});
