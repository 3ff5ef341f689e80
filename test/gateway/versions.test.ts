/**
 * Versions a user can roll back: the newest deploy is what runs (even when it repeats an older
 * version's content), aliases name versions, `name@3` / `name@prod` in the invoke path, and
 * promote / rollback move `latest`. The record names the version that ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, jsFunction, startTestWorker, type TestWorker } from './support.ts';

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
});
afterAll(async () => {
  await t?.close();
});

const code = (n: number) => `export default () => ${n}`;
const deploy = async (name: string, n: number) => {
  const res = await t.call('POST', '/v1/functions', jsFunction(name, code(n)));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const invoke = async (ref: string) => {
  const res = await t.call('POST', `/v1/functions/${ref}/invoke`, '{}');
  return { status: res.status, body: (await res.json()) as { result?: unknown; function?: { version: number } } };
};
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

describe('deploying content an older version has', () => {
  it('makes a new version with that digest, and it is what runs', async () => {
    const one = await deploy('redeploy', 1);
    await deploy('redeploy', 2);
    expect((await invoke('redeploy')).body).toMatchObject({ result: 2, function: { version: 2 } });
    const again = await deploy('redeploy', 1);
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ version: 3, sameAs: 1, digest: one.body.digest, created: true });
    expect((await invoke('redeploy')).body).toMatchObject({ result: 1, function: { version: 3 } });
    // v1 and v3 share a digest; each record still names the version that ran.
    expect((await invoke('redeploy@1')).body).toMatchObject({ result: 1, function: { version: 1 } });
    expect((await invoke('redeploy@3')).body).toMatchObject({ result: 1, function: { version: 3 } });
    // What runs already: nothing changes, the same answer by POST as before.
    const same = await deploy('redeploy', 1);
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ version: 3, created: false });
    const list = (await json(await t.call('GET', '/v1/functions'))) as {
      functions: { name: string; version: number }[];
    };
    expect(list.functions.find((f) => f.name === 'redeploy')?.version).toBe(3);
  });
});

describe('name@version and name@alias', () => {
  beforeAll(async () => {
    for (const n of [1, 2, 3]) await deploy('pinned', n);
  });

  it('invokes a version by path segment and by ?version=', async () => {
    expect((await invoke('pinned@1')).body).toMatchObject({ result: 1, function: { version: 1 } });
    expect((await invoke('pinned%402')).body).toMatchObject({ result: 2, function: { version: 2 } });
    const res = await t.call('POST', '/v1/functions/pinned/invoke?version=1', '{}');
    expect(((await res.json()) as { result: number }).result).toBe(1);
    expect((await t.call('POST', '/v1/functions/pinned@1/invoke?version=2', '{}')).status).toBe(400);
  });

  it('sets, reads, invokes and deletes an alias', async () => {
    const put = await t.call('PUT', '/v1/functions/pinned/aliases/prod', { version: 2 });
    expect(put.status).toBe(200);
    expect(await json(put)).toMatchObject({ name: 'pinned', alias: 'prod', version: 2 });
    expect((await invoke('pinned@prod')).body).toMatchObject({ result: 2, function: { version: 2 } });
    expect(await json(await t.call('GET', '/v1/functions/pinned/aliases/prod'))).toMatchObject({ version: 2 });
    const moved = await json(await t.call('PUT', '/v1/functions/pinned/aliases/prod', { version: 1 }));
    expect(moved).toMatchObject({ version: 1, previous: 2 });
    const list = (await json(await t.call('GET', '/v1/functions/pinned/aliases'))) as { aliases: unknown[] };
    expect(list.aliases).toEqual([
      expect.objectContaining({ alias: 'latest', version: 3 }),
      expect.objectContaining({ alias: 'prod', version: 1 }),
    ]);
    const fn = await json(await t.call('GET', '/v1/functions/pinned'));
    expect(fn).toMatchObject({ version: 3, versions: [1, 2, 3], aliases: { latest: 3, prod: 1 } });
    expect(await json(await t.call('GET', '/v1/functions/pinned@prod'))).toMatchObject({ version: 1 });
    const deleted = await t.call('DELETE', '/v1/functions/pinned/aliases/prod');
    expect(await json(deleted)).toMatchObject({ alias: 'prod', version: 1, deleted: true });
    expect((await t.call('POST', '/v1/functions/pinned@prod/invoke', '{}')).status).toBe(404);
  });

  it('refuses what cannot be: unknown version or alias (404), bad names (400), deleting latest (400)', async () => {
    const noVersion = await t.call('POST', '/v1/functions/pinned@9/invoke', '{}');
    expect(noVersion.status).toBe(404);
    expect(await errorOf(noVersion)).toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('version 9'),
    });
    const noAlias = await t.call('POST', '/v1/functions/pinned@canary/invoke', '{}');
    expect(noAlias.status).toBe(404);
    expect((await errorOf(noAlias)).message).toContain('no alias "canary"');
    expect((await t.call('POST', '/v1/functions/nobody@prod/invoke', '{}')).status).toBe(404);
    expect((await t.call('POST', '/v1/functions/pinned@Bad!/invoke', '{}')).status).toBe(400);
    expect((await t.call('PUT', '/v1/functions/pinned/aliases/9lives', { version: 1 })).status).toBe(400);
    expect((await t.call('PUT', '/v1/functions/pinned/aliases/prod', { version: 'two' })).status).toBe(400);
    expect((await t.call('PUT', '/v1/functions/pinned/aliases/prod', { version: 7 })).status).toBe(404);
    const latest = await t.call('DELETE', '/v1/functions/pinned/aliases/latest');
    expect(latest.status).toBe(400);
    expect((await errorOf(latest)).message).toContain('latest');
  });
});

describe('promote and rollback', () => {
  it('move latest, step back through older versions, and stop at the first', async () => {
    for (const n of [1, 2, 3]) await deploy('stepped', n);
    const promoted = await json(await t.call('PUT', '/v1/functions/stepped/aliases/latest', { version: 1 }));
    expect(promoted).toMatchObject({ alias: 'latest', version: 1, previous: 3 });
    expect((await invoke('stepped')).body).toMatchObject({ result: 1, function: { version: 1 } });
    await t.call('PUT', '/v1/functions/stepped/aliases/latest', { version: 3 });

    const back = await t.call('POST', '/v1/functions/stepped/rollback', {});
    expect(await json(back)).toMatchObject({ alias: 'latest', version: 2, previous: 3 });
    expect((await invoke('stepped')).body).toMatchObject({ result: 2 });
    await t.call('POST', '/v1/functions/stepped/rollback', {});
    const past = await t.call('POST', '/v1/functions/stepped/rollback', {});
    expect(past.status).toBe(409);
    expect(await errorOf(past)).toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('no older version'),
    });
    // A new deploy is what runs again.
    await deploy('stepped', 4);
    expect((await invoke('stepped')).body).toMatchObject({ result: 4, function: { version: 4 } });
  });

  it('rolls back another alias', async () => {
    await t.call('PUT', '/v1/functions/stepped/aliases/prod', { version: 3 });
    const back = await json(await t.call('POST', '/v1/functions/stepped/rollback', { alias: 'prod' }));
    expect(back).toMatchObject({ alias: 'prod', version: 2, previous: 3 });
    expect((await invoke('stepped@prod')).body).toMatchObject({ result: 2 });
  });

  it('deleting a function drops its aliases; a redeploy starts latest afresh', async () => {
    await deploy('dropped', 1);
    await t.call('PUT', '/v1/functions/dropped/aliases/prod', { version: 1 });
    expect((await t.call('DELETE', '/v1/functions/dropped')).status).toBe(200);
    expect((await t.call('GET', '/v1/functions/dropped/aliases')).status).toBe(404);
    await deploy('dropped', 2);
    expect(await json(await t.call('GET', '/v1/functions/dropped'))).toMatchObject({
      version: 2,
      aliases: { latest: 2 },
    });
  });
});
