/**
 * Quotas: rate (token bucket, 429 rate_limited + Retry-After, an injected clock), concurrency and
 * queue (429 quota_exceeded, another tenant unaffected), functions / artifact bytes / ceilings at
 * deploy (403 naming the quota), ceilings at invoke (the pre hook), and fairness under a flood.
 * Over fake sandbox drivers so runs last exactly as long as the test says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tenants } from '../../src/tenants/tenants.ts';
import { artifactOf, FakeDriver } from '../executor/fake-driver.ts';
import { fakeGateway } from '../gateway/fake-gateway.ts';
import { ADMIN, clock, errorOf, js } from './support.ts';

function harness(overrides: Record<string, unknown> = {}) {
  const c = clock();
  const driver = new FakeDriver('isolate');
  const gw = fakeGateway(
    [driver],
    { 'tenants.adminToken': ADMIN, 'executor.retryAfter': '2s', ...overrides },
    { tenants: (db, config) => new Tenants({ db, config, now: c.now }) },
  );
  const { app, executor } = gw;
  const call = async (token: string, method: string, path: string, body?: unknown) =>
    await app.request(path, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const key = async (tenant: string) => {
    const res = await call(ADMIN, 'POST', '/v1/keys', {
      tenant,
      scopes: ['functions:read', 'functions:write', 'invoke', 'executions:read'],
    });
    return ((await res.json()) as { key: string }).key;
  };
  const quota = async (tenant: string, q: unknown) => {
    const res = await call(ADMIN, 'PUT', `/v1/tenants/${tenant}/quota`, q);
    expect(res.status).toBe(200);
  };
  return {
    app,
    call,
    key,
    quota,
    clock: c,
    executor,
    driver,
    close: gw.close,
  };
}

type Harness = ReturnType<typeof harness>;
let h: Harness;
beforeAll(() => {
  h = harness();
});
afterAll(async () => {
  await h?.close();
});

describe('rate', () => {
  it('past the bucket: 429 rate_limited with Retry-After; tokens come back with time', async () => {
    const k = await h.key('rated');
    await h.quota('rated', { rate: 2 });
    expect((await h.call(k, 'POST', '/v1/functions', js('fast', 'export default () => 1'))).status).toBe(201);
    expect((await h.call(k, 'POST', '/v1/functions/fast/invoke', {})).status).toBe(200);
    expect((await h.call(k, 'POST', '/v1/functions/fast/invoke', {})).status).toBe(200);
    const limited = await h.call(k, 'POST', '/v1/functions/fast/invoke', {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await errorOf(limited)).code).toBe('rate_limited');
    // Another tenant has its own bucket.
    const other = await h.key('unrated');
    expect((await h.call(other, 'POST', '/v1/functions', js('fast', 'export default () => 1'))).status).toBe(201);
    expect((await h.call(other, 'POST', '/v1/functions/fast/invoke', {})).status).toBe(200);
    h.clock.advance(499);
    expect((await h.call(k, 'POST', '/v1/functions/fast/invoke', {})).status).toBe(429);
    h.clock.advance(1);
    expect((await h.call(k, 'POST', '/v1/functions/fast/invoke', {})).status).toBe(200);
  });
});

describe('concurrency and queue', () => {
  it('past concurrency + queued: 429 quota_exceeded (not 503); another tenant still runs', async () => {
    const k = await h.key('busy');
    await h.quota('busy', { concurrency: 1, queued: 1 });
    expect((await h.call(k, 'POST', '/v1/functions', js('slow', 'export default () => 1'))).status).toBe(201);
    const first = await h.call(k, 'POST', '/v1/functions/slow/invoke?async=1', { hang: true });
    const second = await h.call(k, 'POST', '/v1/functions/slow/invoke?async=1', { hang: true });
    expect([first.status, second.status]).toEqual([202, 202]);
    const third = await h.call(k, 'POST', '/v1/functions/slow/invoke?async=1', { hang: true });
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('2');
    const error = await errorOf(third);
    expect(error.code).toBe('quota_exceeded');
    expect(error.details).toMatchObject({ quota: 'queued', tenant: 'busy' });
    // One runs, one waits for the tenant's slot although the node has 63 more.
    expect(h.executor.stats()).toMatchObject({ running: 1, queued: 1 });
    const other = await h.key('calm');
    expect((await h.call(other, 'POST', '/v1/functions', js('slow', 'export default () => 1'))).status).toBe(201);
    const res = await h.call(other, 'POST', '/v1/functions/slow/invoke', { ms: 1, result: 'ran' });
    expect(((await res.json()) as { result: string }).result).toBe('ran');
    const ids = [
      ((await first.json()) as { executionId: string }).executionId,
      ((await second.json()) as { executionId: string }).executionId,
    ];
    for (const id of ids) await h.executor.cancel(id);
  });

  it('concurrency alone refuses the first invocation over it', async () => {
    const k = await h.key('solo');
    await h.quota('solo', { concurrency: 1 });
    expect((await h.call(k, 'POST', '/v1/functions', js('slow', 'export default () => 1'))).status).toBe(201);
    const first = await h.call(k, 'POST', '/v1/functions/slow/invoke?async=1', { hang: true });
    expect(first.status).toBe(202);
    const second = await h.call(k, 'POST', '/v1/functions/slow/invoke?async=1', { hang: true });
    expect(second.status).toBe(429);
    expect((await errorOf(second)).details).toMatchObject({ quota: 'concurrency' });
    await h.executor.cancel(((await first.json()) as { executionId: string }).executionId);
  });
});

describe('deploy quotas', () => {
  it('functions, artifactBytes and maxLimits refuse a deploy with 403 quota_exceeded naming the quota', async () => {
    const k = await h.key('small');
    await h.quota('small', { functions: 1, artifactBytes: 100, maxLimits: { memoryMb: 256, timeoutMs: 60_000 } });
    expect((await h.call(k, 'POST', '/v1/functions', js('one', 'export default () => 1'))).status).toBe(201);
    // A new version of the same function is not a new function.
    expect((await h.call(k, 'POST', '/v1/functions', js('one', 'export default () => 2'))).status).toBe(201);
    const two = await h.call(k, 'POST', '/v1/functions', js('two', 'export default () => 1'));
    expect(two.status).toBe(403);
    expect(await errorOf(two)).toMatchObject({ code: 'quota_exceeded', details: { quota: 'functions' } });
    const big = await h.call(k, 'POST', '/v1/functions', js('one', `export default () => "${'x'.repeat(100)}"`));
    expect(big.status).toBe(403);
    expect((await errorOf(big)).details).toMatchObject({ quota: 'artifactBytes' });
    const greedy = await h.call(
      k,
      'POST',
      '/v1/functions',
      js('one', 'export default () => 3', { limits: { memoryMb: 512 } }),
    );
    expect(greedy.status).toBe(403);
    const error = await errorOf(greedy);
    expect(error.details).toMatchObject({ quota: 'maxLimits.memoryMb', ceiling: 256 });
    expect(error.message).toContain('limits.memoryMb');
  });

  it('a ceiling lowered after deploy stops the invocation (rejected, quota_exceeded)', async () => {
    const k = await h.key('lowered');
    expect(
      (await h.call(k, 'POST', '/v1/functions', js('roomy', 'export default () => 1', { limits: { memoryMb: 512 } })))
        .status,
    ).toBe(201);
    expect(
      ((await (await h.call(k, 'POST', '/v1/functions/roomy/invoke', {})).json()) as { status: string }).status,
    ).toBe('succeeded');
    await h.quota('lowered', { maxLimits: { memoryMb: 256 } });
    const rec = (await (await h.call(k, 'POST', '/v1/functions/roomy/invoke', {})).json()) as Record<string, unknown>;
    expect(rec).toMatchObject({ status: 'rejected', error: { code: 'quota_exceeded' }, tenant: 'lowered' });
  });

  it('PUT quota refuses a malformed body with 400', async () => {
    expect((await h.call(ADMIN, 'PUT', '/v1/tenants/x/quota', { concurrency: -1 })).status).toBe(400);
    expect((await h.call(ADMIN, 'PUT', '/v1/tenants/x/quota', { unknown: 1 })).status).toBe(400);
    const got = await h.call(ADMIN, 'GET', '/v1/tenants/small/quota');
    expect(await got.json()).toMatchObject({ tenant: 'small', quota: { functions: 1, artifactBytes: 100 } });
  });
});

describe('fairness', () => {
  it('a tenant flooding 500 slow invocations does not starve another: it starts next', async () => {
    const f = harness({ 'executor.concurrency': 2, 'executor.queueSize': 1000 });
    try {
      const flood = artifactOf({ name: 'flood' });
      const polite = artifactOf({ name: 'polite' });
      const floods = Array.from({ length: 500 }, () =>
        f.executor.submit({ artifact: flood, input: { ms: 20 }, source: 'http', tenant: 'flooder' }),
      );
      const mine = f.executor.submit({ artifact: polite, input: { ms: 1 }, source: 'http', tenant: 'polite' });
      const record = await mine.done;
      expect(record.status).toBe('succeeded');
      // It started as soon as a slot freed: at most the two running floods before it.
      expect(f.driver.started.indexOf(mine.id)).toBeLessThanOrEqual(2);
      expect(f.executor.stats().queued).toBeGreaterThan(400);
      for (const s of floods) void f.executor.cancel(s.id);
      await Promise.all(floods.map((s) => s.done));
    } finally {
      await f.close();
    }
  });
});
