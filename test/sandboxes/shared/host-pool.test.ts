/**
 * HostPool supervision with a fake host (fixtures/fake-host.ts): routing, cancel, kill after a
 * grace period, crash isolation, respawn, placement release and dispose.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HostPool } from '../../../sandboxes/shared/host-pool.ts';
import { StrataError } from '../../../src/core/errors.ts';
import { cmdline, isAlive, until } from '../isolate/helpers.ts';

const ENTRY = fileURLToPath(new URL('./fixtures/fake-host.ts', import.meta.url));

interface Echo {
  pid: number;
  value: unknown;
  marked: boolean;
}

const placed: { pid: number; name: string }[] = [];
const released: number[] = [];
const seenPids = new Set<number>();
let pool: HostPool;

beforeAll(async () => {
  pool = new HostPool({
    kind: 'wasm',
    entry: ENTRY,
    size: 2,
    killAfterMs: 5000,
    place: (pid, name) => {
      placed.push({ pid, name });
      return { release: () => void released.push(pid) };
    },
  });
  expect(pool.health().available).toBe(false);
  await pool.start();
  for (const pid of pool.pids()) seenPids.add(pid);
});

afterAll(async () => {
  await pool.dispose();
});

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as StrataError,
  );

/** Two keys whose requests land on different hosts (found by asking). */
async function keysOnDifferentHosts(): Promise<[string, number, string, number]> {
  const first = await pool.request<Echo>({ type: 'echo' }, { key: 'k0' });
  for (let i = 1; i < 64; i++) {
    const other = await pool.request<Echo>({ type: 'echo' }, { key: `k${i}` });
    if (other.pid !== first.pid) return ['k0', first.pid, `k${i}`, other.pid];
  }
  throw new Error('no key routed to the second host');
}

describe('HostPool', () => {
  it('starts its hosts as named child processes and places each one', () => {
    const pids = pool.pids();
    expect(pids).toHaveLength(2);
    expect(new Set(pids).size).toBe(2);
    for (const pid of pids) {
      expect(isAlive(pid)).toBe(true);
      expect(cmdline(pid)).toContain('wasm host');
    }
    expect(placed.map((p) => p.pid).sort()).toEqual([...pids].sort());
    expect(placed.map((p) => p.name).sort()).toEqual(['strata wasm host 0', 'strata wasm host 1']);
    expect(pool.health()).toMatchObject({ available: true, details: { hosts: 2, live: 2, restarts: 0 } });
  });

  it('routes requests with the same key to the same host', async () => {
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await pool.request<Echo>({ type: 'echo', value: i }, { key: 'fn-a' }));
    expect(new Set(replies.map((r) => r.pid)).size).toBe(1);
    expect(replies.map((r) => r.value)).toEqual([0, 1, 2, 3, 4]);
  });

  it('spreads concurrent unkeyed requests over the least busy hosts', async () => {
    const replies = await Promise.all([
      pool.request<{ pid: number }>({ type: 'wait', ms: 200 }),
      pool.request<{ pid: number }>({ type: 'wait', ms: 200 }),
    ]);
    expect(new Set(replies.map((r) => r.pid)).size).toBe(2);
  });

  it('passes a handler error back with its code; a plain error becomes internal', async () => {
    const strata = await rejection(pool.request({ type: 'fail', strata: true }));
    expect(strata).toBeInstanceOf(StrataError);
    expect(strata).toMatchObject({ code: 'function_error', message: 'the handler failed on purpose' });
    expect(await rejection(pool.request({ type: 'fail' }))).toMatchObject({
      code: 'internal',
      message: 'a plain failure',
    });
    expect(await rejection(pool.request({ type: 'nope' }))).toMatchObject({ code: 'internal' });
  });

  it('rejects at once a request whose signal already fired', async () => {
    const reason = new StrataError('cancelled', 'before it started');
    expect(await rejection(pool.request({ type: 'echo' }, { signal: AbortSignal.abort(reason) }))).toBe(reason);
  });

  it('forwards a cancel to the handler signal without killing the host', async () => {
    const pids = pool.pids();
    const controller = new AbortController();
    const started = Date.now();
    const pending = pool.request({ type: 'wait', ms: 20_000 }, { key: 'fn-a', signal: controller.signal });
    setTimeout(() => controller.abort(new StrataError('cancelled', 'stop')), 100);
    const err = await rejection(pending);
    expect(err.code).toBe('cancelled');
    expect(err.message).toMatch(/request cancelled in host/);
    // Well before the request's own 20 s: the cancel ended it (generous for a busy machine).
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(pool.pids()).toEqual(pids);
    expect(pool.health().details).toMatchObject({ inFlight: 0 });
  });

  it.each(['hang', 'ignore'])(
    'kills a host that does not honour a cancel (%s) after the grace period',
    async (type) => {
      const before = pool.pids();
      const controller = new AbortController();
      const pending = pool.request({ type }, { key: 'fn-b', signal: controller.signal, killAfterMs: 300 });
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      controller.abort(new StrataError('timeout', 'deadline'));
      const err = await rejection(pending);
      expect(err.code).toBe('sandbox_crashed');
      expect(err.message).toMatch(/SIGKILL/);
      // The request never ends by itself: any bound proves the kill; this one is generous.
      expect(Date.now() - started).toBeLessThan(15_000);
      const victim = before.find((pid) => !isAlive(pid));
      expect(victim).toBeDefined();
      expect(await until(() => pool.pids().length === 2 && !pool.pids().includes(victim as number))).toBe(true);
      for (const pid of pool.pids()) seenPids.add(pid);
      expect(await until(() => released.includes(victim as number))).toBe(true);
    },
  );

  it('fails only the requests of a host that crashes, and replaces it', async () => {
    const [keyA, pidA, keyB, pidB] = await keysOnDifferentHosts();
    const restarts = pool.health().details?.restarts as number;
    const onA = pool.request({ type: 'wait', ms: 5000 }, { key: keyA });
    const onB = pool.request<{ pid: number }>({ type: 'wait', ms: 800 }, { key: keyB });
    const crash = pool.request({ type: 'crash' }, { key: keyA });
    const [errA, errCrash] = await Promise.all([rejection(onA), rejection(crash)]);
    for (const err of [errA, errCrash]) {
      expect(err.code).toBe('sandbox_crashed');
      expect(err.message).toMatch(/exit code 3/);
    }
    expect(await onB).toEqual({ pid: pidB });
    expect(await until(() => pool.pids().length === 2 && !pool.pids().includes(pidA))).toBe(true);
    expect(isAlive(pidA)).toBe(false);
    expect(pool.pids()).toContain(pidB);
    for (const pid of pool.pids()) seenPids.add(pid);
    const health = pool.health();
    expect(health.available).toBe(true);
    expect(health.details).toMatchObject({ live: 2, restarts: restarts + 1 });
    expect(String(health.details?.lastCrash)).toMatch(/exit code 3/);
    // The replacement answers.
    const echo = await pool.request<Echo>({ type: 'echo', value: 'again' }, { key: keyA });
    expect(echo.value).toBe('again');
    expect(echo.pid).not.toBe(pidA);
  });

  it('broadcasts a message to every live host', async () => {
    await pool.broadcast({ type: 'mark' });
    const [keyA, , keyB] = await keysOnDifferentHosts();
    expect((await pool.request<Echo>({ type: 'echo' }, { key: keyA })).marked).toBe(true);
    expect((await pool.request<Echo>({ type: 'echo' }, { key: keyB })).marked).toBe(true);
  });

  it('dispose() ends every host, fails in-flight requests as shutting_down and refuses new ones', async () => {
    for (const pid of pool.pids()) seenPids.add(pid);
    // The handler is attached at once: the rejection comes while dispose() runs.
    const inFlight = rejection(pool.request({ type: 'wait', ms: 20_000 }));
    await new Promise((r) => setTimeout(r, 50));
    await pool.dispose();
    expect((await inFlight).code).toBe('shutting_down');
    expect(pool.pids()).toEqual([]);
    expect(await until(() => [...seenPids].every((pid) => !isAlive(pid)))).toBe(true);
    expect((await rejection(pool.request({ type: 'echo' }))).code).toBe('shutting_down');
    // No respawn after dispose.
    await new Promise((r) => setTimeout(r, 200));
    expect(pool.pids()).toEqual([]);
    await pool.dispose();
  });
});

describe('HostPool: a host that breaks the protocol', () => {
  let hostile: HostPool;
  beforeAll(async () => {
    hostile = new HostPool({ kind: 'wasm', entry: ENTRY, size: 2, maxFrameBytes: 1024 * 1024 });
    await hostile.start();
  });
  afterAll(async () => {
    await hostile.dispose();
  });

  /** Two keys on different hosts of `hostile`. */
  async function split(): Promise<[string, number, string, number]> {
    const first = await hostile.request<Echo>({ type: 'echo' }, { key: 'h0' });
    for (let i = 1; i < 64; i++) {
      const other = await hostile.request<Echo>({ type: 'echo' }, { key: `h${i}` });
      if (other.pid !== first.pid) return ['h0', first.pid, `h${i}`, other.pid];
    }
    throw new Error('no key routed to the second host');
  }

  const frames: [string, Record<string, unknown>][] = [
    ['a frame that is not JSON', { payload: '{"id": 1, "ok": tru' }],
    ['a null frame', { payload: 'null' }],
    [
      'a frame that fails the envelope (error code a host may not send)',
      { payload: '{"id":1,"ok":false,"error":{"code":"forbidden","message":"x"}}' },
    ],
    [
      'a forged reply to a request the host does not hold',
      { payload: '{"id":999999,"ok":true,"value":{"status":"succeeded"}}' },
    ],
    ['a second ready', { payload: '{"type":"ready"}' }],
    ['a frame whose header claims 1 GiB', { payload: 'x', size: 2 ** 30 }],
  ];

  it.each(frames)(
    '%s destroys that host, ends its requests protocol_violation, and the others go on',
    async (_, raw) => {
      const [keyA, pidA, keyB, pidB] = await split();
      const violations = hostile.health().details?.protocolViolations as number;
      const onB = hostile.request<{ pid: number }>({ type: 'wait', ms: 500 }, { key: keyB });
      const waitingOnA = rejection(hostile.request({ type: 'wait', ms: 20_000 }, { key: keyA }));
      const err = await rejection(hostile.request({ type: 'raw', ...raw }, { key: keyA }));
      expect(err).toBeInstanceOf(StrataError);
      expect(err.code).toBe('protocol_violation');
      expect(err.message).toMatch(/broke the protocol/);
      // Everything in flight on that host ends the same way; the other host's request succeeds.
      expect((await waitingOnA).code).toBe('protocol_violation');
      expect(await onB).toEqual({ pid: pidB });
      expect(await until(() => !isAlive(pidA))).toBe(true);
      expect(await until(() => hostile.pids().length === 2 && !hostile.pids().includes(pidA), 10_000)).toBe(true);
      expect(hostile.health().details).toMatchObject({ protocolViolations: violations + 1 });
      // The replacement serves.
      expect((await hostile.request<Echo>({ type: 'echo', value: 1 }, { key: keyA })).value).toBe(1);
    },
  );

  it('a value that fails the request schema is a violation; one that passes comes back parsed', async () => {
    const schema = z.strictObject({ n: z.number() });
    expect(await hostile.request({ type: 'value', value: { n: 1 } }, { schema })).toEqual({ n: 1 });
    const err = await rejection(hostile.request({ type: 'value', value: { n: 'one' } }, { schema }));
    expect(err.code).toBe('protocol_violation');
    expect(err.message).toMatch(/fails the schema/);
    expect(await until(() => hostile.pids().length === 2, 10_000)).toBe(true);
  });
});

describe('HostPool with one host', () => {
  it('holds a request that arrives while its only host is being replaced, then serves it', async () => {
    const single = new HostPool({ kind: 'isolate', entry: ENTRY, size: 1 });
    await single.start();
    const [before] = single.pids();
    const crashed = single.request({ type: 'crash' }).catch((err: StrataError) => err.code);
    expect(await crashed).toBe('sandbox_crashed');
    // The host is gone and its replacement not ready yet: the request waits instead of failing.
    const echo = await single.request<Echo>({ type: 'echo', value: 'after' });
    expect(echo.value).toBe('after');
    expect(echo.pid).not.toBe(before);
    await single.dispose();
    expect(isAlive(echo.pid)).toBe(false);
  });
});
