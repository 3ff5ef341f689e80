/**
 * Isolation between tenants: every route that takes a function name or an execution id answers
 * another tenant's exactly as one that does not exist (same status, same body but for the name
 * or id asked), two tenants each own a `hello`, and no warm state crosses between them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, js, startTenantWorker, type TenantWorker } from './support.ts';

let t: TenantWorker;
let a: string;
let b: string;
const ALL = ['functions:read', 'functions:write', 'invoke', 'executions:read'];

beforeAll(async () => {
  t = await startTenantWorker();
  a = (await t.key('team-a', ALL)).key;
  b = (await t.key('team-b', ALL)).key;
}, 120_000);
afterAll(async () => {
  await t?.close();
});

/** Status, headers that could tell, and body with the probed name/id replaced. */
async function shape(res: Response, probe: string) {
  const text = (await res.text()).split(probe).join('<probe>');
  return { status: res.status, allow: res.headers.get('allow'), body: text };
}

describe('two tenants', () => {
  it('each own a function named hello, and each sees only its own', async () => {
    expect((await t.call(a, 'POST', '/v1/functions', js('hello', 'export default () => "from a"'))).status).toBe(201);
    expect((await t.call(b, 'POST', '/v1/functions', js('hello', 'export default () => "from b"'))).status).toBe(201);
    const ra = (await (await t.call(a, 'POST', '/v1/functions/hello/invoke', {})).json()) as Record<string, unknown>;
    const rb = (await (await t.call(b, 'POST', '/v1/functions/hello/invoke', {})).json()) as Record<string, unknown>;
    expect(ra).toMatchObject({ status: 'succeeded', result: 'from a', function: { name: 'hello' }, tenant: 'team-a' });
    expect(rb).toMatchObject({ status: 'succeeded', result: 'from b', function: { name: 'hello' }, tenant: 'team-b' });
    const la = (await (await t.call(a, 'GET', '/v1/functions')).json()) as { functions: { name: string }[] };
    expect(la.functions.map((f) => f.name)).toEqual(['hello']);
    const got = (await (await t.call(b, 'GET', '/v1/functions/hello')).json()) as Record<string, unknown>;
    expect(got).toMatchObject({ name: 'hello', source: 'export default () => "from b"', versions: [1] });
    // The default tenant (admin token) has no hello at all.
    expect((await t.call(undefined, 'GET', '/v1/functions/hello')).status).toBe(401);
  });

  it('identical functions of two tenants have different digests (so no shared warm sandbox)', async () => {
    const source = 'export default () => { globalThis.x = (globalThis.x ?? 0) + 1; return globalThis.x; }';
    const da = (await (await t.call(a, 'POST', '/v1/functions', js('counter', source))).json()) as { digest: string };
    const db = (await (await t.call(b, 'POST', '/v1/functions', js('counter', source))).json()) as { digest: string };
    expect(da.digest).not.toBe(db.digest);
    const run = async (key: string) =>
      ((await (await t.call(key, 'POST', '/v1/functions/counter/invoke', {})).json()) as { result: number }).result;
    const first = await run(a);
    const second = await run(a);
    // Tenant A's warm isolate kept its global (so sharing one would show)...
    expect(second).toBe(first + 1);
    // ...and tenant B's same source starts from nothing.
    expect(await run(b)).toBe(1);
  });

  it("every route naming a function answers another tenant's as a missing one", async () => {
    expect((await t.call(b, 'POST', '/v1/functions', js('only-b', 'export default () => 1'))).status).toBe(201);
    expect((await t.call(b, 'POST', '/v1/functions', js('only-b', 'export default () => 2'))).status).toBe(201);
    const routes: [string, (n: string) => string, unknown?][] = [
      ['GET', (n) => `/v1/functions/${n}`],
      ['GET', (n) => `/v1/functions/${n}?version=1`],
      ['GET', (n) => `/v1/functions/${n}@1`],
      ['POST', (n) => `/v1/functions/${n}/invoke`, {}],
      ['POST', (n) => `/v1/functions/${n}@1/invoke`, {}],
      ['POST', (n) => `/v1/functions/${n}/invoke?async=1`, {}],
      ['GET', (n) => `/v1/functions/${n}/aliases`],
      ['GET', (n) => `/v1/functions/${n}/aliases/latest`],
      ['PUT', (n) => `/v1/functions/${n}/aliases/prod`, { version: 1 }],
      ['DELETE', (n) => `/v1/functions/${n}/aliases/prod`],
      ['POST', (n) => `/v1/functions/${n}/rollback`, {}],
      ['DELETE', (n) => `/v1/functions/${n}`],
      ['GET', (n) => `/v1/functions/${n}%2Fx`],
      ['GET', (n) => `/v1/functions/team-b%2F${n}`],
    ];
    for (const [method, path, body] of routes) {
      const foreign = await shape(await t.call(a, method, path('only-b'), body), 'only-b');
      const missing = await shape(await t.call(a, method, path('never-was'), body), 'never-was');
      expect({ route: `${method} ${path('X')}`, ...foreign }).toEqual({ route: `${method} ${path('X')}`, ...missing });
      expect(foreign.status, `${method} ${path('X')}`).toBe(404);
    }
    // Nothing of B's changed: both versions are there, latest still 2.
    const still = (await (await t.call(b, 'GET', '/v1/functions/only-b')).json()) as Record<string, unknown>;
    expect(still).toMatchObject({ version: 2, versions: [1, 2] });
  });

  it('usage per tenant: GET /v1/tenants/:id/usage by day and strata_invocations_total{tenant}', async () => {
    const res = await t.call(ADMIN, 'GET', '/v1/tenants/team-a/usage');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tenant: string; days: { day: string; invocations: number; cpuMs: number }[] };
    expect(body.tenant).toBe('team-a');
    expect(body.days).toHaveLength(1);
    expect(body.days[0]?.invocations).toBeGreaterThanOrEqual(3);
    const metrics = await (await t.call(a, 'GET', '/metrics')).text();
    expect(metrics).toMatch(/^strata_invocations_total\{[^}]*tenant="team-a"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^strata_invocations_total\{[^}]*tenant="team-b"[^}]*\} [1-9]/m);
  });

  it("every route naming an execution answers another tenant's as a missing one", async () => {
    const rec = (await (await t.call(b, 'POST', '/v1/functions/hello/invoke', {})).json()) as { id: string };
    expect((await t.call(b, 'GET', `/v1/executions/${rec.id}`)).status).toBe(200);
    const other = randomUUID();
    const routes: [string, (id: string) => string][] = [
      ['GET', (id) => `/v1/executions/${id}`],
      ['POST', (id) => `/v1/executions/${id}/cancel`],
      ['GET', (id) => `/v1/executions/${id}/usage`],
      ['GET', (id) => `/v1/executions/${id}/cancel`],
    ];
    for (const [method, path] of routes) {
      const foreign = await shape(await t.call(a, method, path(rec.id)), rec.id);
      const missing = await shape(await t.call(a, method, path(other)), other);
      expect({ route: `${method} ${path('X')}`, ...foreign }).toEqual({ route: `${method} ${path('X')}`, ...missing });
    }
    expect((await t.call(a, 'GET', `/v1/executions/${rec.id}`)).status).toBe(404);
  });
});

describe('executions, logs and events per tenant', () => {
  type Page = { items: { id: string; tenant?: string; function: { name: string } }[]; nextCursor: string | null };
  const page = async (key: string, path: string) => {
    const res = await t.call(key, 'GET', path);
    expect(res.status, path).toBe(200);
    return (await res.json()) as Page;
  };
  const invoke = async (key: string, name: string) => {
    const res = await t.call(key, 'POST', `/v1/functions/${name}/invoke`, {});
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  };
  let ownA: string;
  let ownB: string;

  beforeAll(async () => {
    const source = (who: string) => `export default (x, ctx) => { ctx.log("secret of ${who}"); return "${who}"; }`;
    expect((await t.call(a, 'POST', '/v1/functions', js('talker', source('a')))).status).toBe(201);
    expect((await t.call(b, 'POST', '/v1/functions', js('talker', source('b')))).status).toBe(201);
    ownA = await invoke(a, 'talker');
    ownB = await invoke(b, 'talker');
  }, 60_000);

  it("the executions list and a function's executions show only the caller's tenant", async () => {
    const all = await page(a, '/v1/executions?limit=500');
    expect(all.items.map((r) => r.id)).toContain(ownA);
    expect(all.items.map((r) => r.id)).not.toContain(ownB);
    expect(all.items.every((r) => r.tenant === 'team-a')).toBe(true);
    // Same name in both tenants: the filter and the per-function route still keep to A's.
    for (const path of ['/v1/executions?function=talker', '/v1/functions/talker/executions']) {
      const ids = (await page(a, path)).items.map((r) => r.id);
      expect(ids, path).toEqual([ownA]);
      expect(
        (await page(b, path)).items.map((r) => r.id),
        path,
      ).toEqual([ownB]);
    }
    // Paging one at a time walks A's records only (the tenant filter is in the query, not after it).
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const p: Page = await page(a, `/v1/executions?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.items.map((r) => r.id));
      cursor = p.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.items.map((r) => r.id));
    // The default tenant (admin token) sees none of either team's.
    const admin = (await page(ADMIN, '/v1/executions?limit=500')).items.map((r) => r.id);
    expect(admin).not.toContain(ownA);
    expect(admin).not.toContain(ownB);
  });

  it("another tenant's logs, stored or followed, answer as a missing execution", async () => {
    const mine = await t.call(b, 'GET', `/v1/executions/${ownB}/logs`);
    expect(mine.status).toBe(200);
    expect(((await mine.json()) as { logs: string }).logs).toContain('secret of b');
    const other = randomUUID();
    for (const suffix of ['/logs', '/logs?follow=1', '/logs?follow=0']) {
      const foreign = await shape(await t.call(a, 'GET', `/v1/executions/${ownB}${suffix}`), ownB);
      const missing = await shape(await t.call(a, 'GET', `/v1/executions/${other}${suffix}`), other);
      expect({ suffix, ...foreign }).toEqual({ suffix, ...missing });
      expect(foreign.status, suffix).toBe(404);
      expect(foreign.body).not.toContain('secret of b');
    }
    // B still follows its own (a finished one replays and ends).
    const follow = await t.call(b, 'GET', `/v1/executions/${ownB}/logs?follow=1`);
    expect(follow.headers.get('content-type')).toContain('text/event-stream');
    const text = await follow.text();
    expect(text).toContain('secret of b');
    expect(text).toContain('event: end');
  });

  it("GET /v1/events streams only the caller's tenant's executions", async () => {
    const res = await t.call(a, 'GET', '/v1/events');
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (done: () => boolean) => {
      while (!done()) {
        const { value, done: ended } = await reader.read();
        if (ended) throw new Error(`stream ended early: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    try {
      await until(() => text.includes(': open'));
      // B's run happens first and ends before A's starts: were it sent, it would come before A's.
      const idB = await invoke(b, 'talker');
      const idA = await invoke(a, 'talker');
      await until(() => text.includes(`"kind":"finish","id":"${idA}"`));
      const events = text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)) as { kind: string; id: string });
      expect(events.map((e) => e.id)).toContain(idA);
      expect(events.map((e) => e.id)).not.toContain(idB);
      expect(text).not.toContain(idB);
    } finally {
      await reader.cancel();
    }
  });
});
