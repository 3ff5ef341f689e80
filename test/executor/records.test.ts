/**
 * Records are always saved and say what happened (issue 16 items 3 and 5, "Honest records"):
 * a result that cannot be serialised fails alone instead of the group commit it is in, error text
 * is capped with a marker, and every record carries placement, start and (when it did not
 * succeed) its cause of death.
 */
import { describe, expect, it } from 'vitest';
import type { TierHealth } from '../../src/core/driver.ts';
import { StrataError } from '../../src/core/errors.ts';
import type { ExecutionRecord } from '../../src/core/execution.ts';
import { usageOf } from '../../src/core/execution.ts';
import type { ResourceGovernor } from '../../src/executor/executor.ts';
import { ExecutionStore } from '../../src/executor/records.ts';
import type { InvokeRequest } from '../../src/executor/types.ts';
import { Database } from '../../src/store/database.ts';
import { artifactOf, FakeDriver, type Script } from './fake-driver.ts';
import { setup } from './setup.ts';

const fn = artifactOf();
const request = (input: Script, extra: Partial<InvokeRequest> = {}): InvokeRequest => ({
  artifact: fn,
  input,
  source: 'http',
  ...extra,
});

describe('a record is always saved', () => {
  it('turns a result nested 100,000 deep into failed/result_not_serializable, saved final', async () => {
    const { executor, records } = setup();
    const { id, done } = executor.submit(request({ deep: 100_000 }, { durable: true }));
    const record = await done;
    expect(record).toMatchObject({ status: 'failed', error: { code: 'result_not_serializable' } });
    expect(record).not.toHaveProperty('result');
    expect(record.death).toMatchObject({ cause: 'result' });
    // Stored final (not left `queued`), and the answer a client gets is JSON it can parse.
    expect(records.get(id)).toMatchObject({ status: 'failed', error: { code: 'result_not_serializable' } });
    expect(() => JSON.stringify(record)).not.toThrow();
  });

  it('keeps a result at the depth limit and refuses one level more', async () => {
    const { executor } = setup({ 'limits.resultDepth': 50 });
    expect((await executor.submit(request({ deep: 50 })).done).status).toBe('succeeded');
    expect((await executor.submit(request({ deep: 51 })).done).error?.code).toBe('result_not_serializable');
  });

  it('loses none of 450 async records when some in the same ticks cannot be serialised', async () => {
    const { executor, records } = setup({ 'executor.concurrency': 64, 'executor.queueSize': 1000 });
    const subs = Array.from({ length: 450 }, (_, i) =>
      executor.submit(request(i % 7 === 0 ? { deep: 100_000 } : { result: i }, { durable: true })),
    );
    await Promise.all(subs.map((s) => s.done));
    const stored = subs.map((s) => records.get(s.id));
    const byStatus = (status: string) => stored.filter((r) => r?.status === status).length;
    expect(byStatus('queued') + byStatus('running')).toBe(0);
    expect(byStatus('failed')).toBe(Math.ceil(450 / 7));
    expect(byStatus('succeeded')).toBe(450 - Math.ceil(450 / 7));
    expect(stored[1]?.result).toBe(1);
  });

  it('commits a batch around a record that cannot be serialised or a row the database refuses', async () => {
    const db = new Database(':memory:');
    try {
      const store = new ExecutionStore(db, 1000);
      const good = (id: string) => recordOf(id, { result: id });
      const cyclic = recordOf('cyclic');
      (cyclic as { result: unknown }).result = { big: 1n };
      const refused = recordOf('refused');
      // NOT NULL on function_name: the database refuses this row, inside the batch's transaction.
      (refused.function as { name: unknown }).name = null;
      const saves = [good('a'), cyclic, good('b'), refused, good('c')].map((r) =>
        store.saveSoon(r).then(
          () => 'ok',
          () => 'no',
        ),
      );
      expect(await Promise.all(saves)).toEqual(['ok', 'no', 'ok', 'no', 'ok']);
      expect(['a', 'b', 'c'].map((id) => store.get(id)?.result)).toEqual(['a', 'b', 'c']);
      expect(store.get('cyclic')).toBeUndefined();
    } finally {
      db.close();
    }
  });
});

describe('error text is bounded (limits.errorBytes)', () => {
  it('cuts a 50 MiB error message to 16 KiB with a marker saying how much was cut', async () => {
    const { executor, records } = setup();
    const record = await executor.submit(request({ fail: 'E', failRepeat: 50 * 2 ** 20 })).done;
    expect(record.status).toBe('failed');
    const message = record.error?.message ?? '';
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(16 * 1024);
    const cut = /…\[(\d+) bytes of error message cut\]…/.exec(message);
    expect(cut).not.toBeNull();
    expect(Number(cut?.[1]) + Buffer.byteLength(message.replace(cut?.[0] ?? '', '').replace(/\n/g, ''))).toBe(
      50 * 2 ** 20,
    );
    expect(message.startsWith('EEEE')).toBe(true);
    expect(message.endsWith('EEEE')).toBe(true);
    expect(records.get(record.id)?.error?.message).toBe(message);
  });

  it('follows the configured cap and leaves short messages alone', async () => {
    const { executor } = setup({ 'limits.errorBytes': '1KiB' });
    const long = await executor.submit(request({ fail: 'x', failRepeat: 5000 })).done;
    expect(Buffer.byteLength(long.error?.message ?? '')).toBeLessThanOrEqual(1024);
    const short = await executor.submit(request({ fail: 'short' })).done;
    expect(short.error?.message).toBe('short');
  });
});

describe('honest records', () => {
  it('gives every record a placement; a succeeded one has start and no death', async () => {
    const { executor } = setup();
    const record = await executor.submit(request({ result: 1 })).done;
    expect(record.placement).toEqual({ tier: 'isolate', requested: 'isolate' });
    expect(record.start).toEqual({ kind: 'fresh', initMs: expect.any(Number) });
    expect(record).not.toHaveProperty('death');
  });

  it('copies the start a tier reports, and the death it reports with `at` added', async () => {
    const { executor } = setup();
    const usage = usageOf({ wallMs: 3, memoryPeakBytes: 1000 });
    const record = await executor.submit(
      request({
        outcome: {
          status: 'killed',
          error: { code: 'limit_exceeded', message: 'too many processes' },
          start: { kind: 'warm', initMs: 0.25 },
          death: { cause: 'pids', limit: 16, usage },
        },
      }),
    ).done;
    expect(record.start).toEqual({ kind: 'warm', initMs: 0.25 });
    expect(record.death).toEqual({ cause: 'pids', limit: 16, at: expect.any(String), usage });
    expect(Date.parse(record.death?.at ?? '')).not.toBeNaN();
  });

  it('derives death from status and code when the tier gives none', async () => {
    const { executor } = setup();
    const slow = artifactOf({ limits: { timeoutMs: 150 } });
    const timedOut = await executor.submit({ artifact: slow, input: { hang: true }, source: 'http' }).done;
    expect(timedOut.death).toMatchObject({ cause: 'time', limit: 150, usage: { wallMs: expect.any(Number) } });
    const failed = await executor.submit(request({ fail: 'boom' })).done;
    expect(failed.death).toMatchObject({ cause: 'error' });
    const hanging = executor.submit(request({ hang: true }));
    await executor.cancel(hanging.id);
    expect((await hanging.done).death).toMatchObject({ cause: 'cancel' });
    const memory = await executor.submit(
      request({ outcome: { status: 'memory_exceeded', error: { code: 'memory_exceeded', message: 'over' } } }),
    ).done;
    expect(memory.death).toMatchObject({ cause: 'memory', limit: 128 });
    const pids = await executor.submit(
      request({
        outcome: {
          status: 'killed',
          error: { code: 'limit_exceeded', message: 'reached its limit of 64 processes; raise limits.pids' },
        },
      }),
    ).done;
    expect(pids.death).toMatchObject({ cause: 'pids', limit: 64 });
  });

  it('records the placement reason when a tier was passed over, and none can take it', async () => {
    const wasm = new FakeDriver('wasm', { runtimes: ['js', 'wasm'] });
    const docker = new FakeDriver('docker', { runtimes: ['js', 'container', 'script'], ownProcesses: true });
    const { executor } = setup({}, { drivers: [wasm, docker] });
    wasm.health_ = { available: false, reason: 'no wasm hosts' };
    const standard = artifactOf({ trust: 'standard' });
    const moved = await executor.submit({ artifact: standard, input: {}, source: 'http' }).done;
    expect(moved).toMatchObject({ status: 'succeeded', tier: 'docker' });
    expect(moved.placement).toEqual({ tier: 'docker', requested: 'wasm', reason: 'unavailable: wasm (no wasm hosts)' });
    docker.health_ = { available: false, reason: 'daemon down' };
    const none = await executor.submit({ artifact: standard, input: {}, source: 'http' }).done;
    expect(none).toMatchObject({ status: 'rejected', error: { code: 'tier_unavailable' } });
    expect(none.placement).toMatchObject({
      tier: null,
      requested: 'wasm',
      reason: expect.stringMatching(/daemon down/),
    });
    expect(none.death).toMatchObject({ cause: 'error' });
    expect(none).not.toHaveProperty('start');
  });

  it('carries the tenant when the request names one', async () => {
    const { executor, records } = setup();
    const record = await executor.submit(request({}, { tenant: 'acme' })).done;
    expect(record.tenant).toBe('acme');
    expect(records.get(record.id)?.tenant).toBe('acme');
    expect(await executor.submit(request({})).done).not.toHaveProperty('tenant');
  });
});

describe('placement and admission by capabilities', () => {
  it('reserves a core for tiers with processes of their own (ownProcesses), not by tier name', async () => {
    const seen: { tier: string; cpu: number }[] = [];
    const governor: ResourceGovernor = {
      admission: (req) => {
        seen.push({ tier: req.id, cpu: req.cpu });
        return { admit: true };
      },
      observe: () => [],
    };
    const own = new FakeDriver('isolate', { ownProcesses: true });
    const { executor } = setup({}, { drivers: [own], governor });
    await executor.submit(request({}, { executionId: 'own' })).done;
    await executor.submit({
      artifact: artifactOf({ limits: { cpu: 0.25 } }),
      input: {},
      source: 'http',
      executionId: 'quarter',
    }).done;
    const shared = new FakeDriver('process', { runtimes: ['script'], ownProcesses: false });
    const second = setup({}, { drivers: [shared], governor });
    const script = artifactOf({ runtime: 'script', interpreter: 'sh', source: 'true' });
    await second.executor.submit({ artifact: script, input: {}, source: 'http', executionId: 'shared' }).done;
    expect(seen).toEqual([
      { tier: 'own', cpu: 1 },
      { tier: 'quarter', cpu: 0.25 },
      { tier: 'shared', cpu: 0 },
    ]);
  });

  it('hears health changes a driver pushes, and polls the ones that do not push', async () => {
    const pushing = new FakeDriver('isolate');
    let listener: ((h: TierHealth) => void) | undefined;
    Object.assign(pushing, {
      onHealthChange: (l: (h: TierHealth) => void) => {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
    });
    const polled = new FakeDriver('wasm', { runtimes: ['wasm'] });
    const { executor } = setup({ 'executor.healthPoll': '20ms' }, { drivers: [pushing, polled] });
    const changes: string[] = [];
    const next = () => new Promise<void>((resolve) => executor.once('tier', () => resolve()));
    executor.on('tier', (tier, health) => changes.push(`${tier}:${health.available}`));
    executor.tierHealth(); // the first reading is the baseline
    let heard = next();
    listener?.({ available: false, reason: 'hosts down' });
    await heard;
    heard = next();
    polled.health_ = { available: false, reason: 'gone' };
    await heard;
    expect(changes).toEqual(['isolate:false', 'wasm:false']);
    await executor.shutdown(0);
    expect(listener).toBeUndefined();
  });

  it('holds a dispatched manifest to the permission cap, and rejects (not kills) what prepare refuses', async () => {
    const { executor, driver } = setup();
    const asking = artifactOf({ trust: 'standard', permissions: { network: { allow: ['api.example.com'] } } });
    const refused = await executor.submit({ artifact: asking, input: {}, source: 'master' }).done;
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'permission_denied' } });
    expect(refused.error?.message).toMatch(/permissions\.network/);
    await expect(executor.validate(asking)).rejects.toMatchObject({ code: 'permission_denied' });
    driver.prepareError = new StrataError('permission_denied', 'this tier cannot enforce a network allow-list');
    await expect(executor.validate(fn)).rejects.toMatchObject({
      code: 'permission_denied',
      message: 'this tier cannot enforce a network allow-list',
    });
    expect(await executor.submit(request({})).done).toMatchObject({
      status: 'rejected',
      error: { code: 'permission_denied' },
    });
  });
});

function recordOf(id: string, extra: Partial<ExecutionRecord> = {}): ExecutionRecord {
  const at = new Date().toISOString();
  return {
    id,
    function: { name: 'f', version: 1, digest: 'd' },
    status: 'succeeded',
    logs: '',
    usage: { wallMs: 0, measured: [] },
    tier: 'isolate',
    priority: 0,
    source: 'http',
    timings: { queuedMs: 0, enqueuedAt: at, startedAt: at, finishedAt: at },
    ...extra,
  };
}
