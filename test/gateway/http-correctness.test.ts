/**
 * HTTP as clients expect it: 405 with Allow for a known path and the wrong method (404 for an
 * unknown path), the same status for an identical resubmission by POST and by PUT, and 409 with
 * the status for cancelling an execution that already ended.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, jsFunction, startTestWorker, type TestWorker } from './support.ts';

const ADD_WASM = readFileSync(new URL('../../udf-examples/wasm/wat-add/add.wasm', import.meta.url));

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
});
afterAll(async () => {
  await t?.close();
});

describe('405 Method Not Allowed', () => {
  it.each([
    ['DELETE', '/healthz', 'GET, HEAD'],
    ['PATCH', '/v1/functions', 'GET, HEAD, POST'],
    ['GET', '/v1/functions/hello/invoke', 'POST'],
    ['PUT', '/v1/functions/hello', 'DELETE, GET, HEAD'],
    ['GET', '/v1/executions/abc/cancel', 'POST'],
    ['POST', '/v1/functions/hello/aliases/prod', 'DELETE, GET, HEAD, PUT'],
    ['POST', '/metrics', 'GET, HEAD'],
  ])('%s %s answers 405 with Allow: %s', async (method, path, allow) => {
    const res = await t.call(method, path, method === 'GET' ? undefined : '{}');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    const error = await errorOf(res);
    expect(error.code).toBe('method_not_allowed');
    expect(error.message).toContain(allow);
  });

  it('an unknown path is still 404', async () => {
    const res = await t.call('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers.get('allow')).toBeNull();
    expect((await errorOf(res)).code).toBe('not_found');
  });
});

describe('identical resubmission', () => {
  it('answers the same status by POST (multipart) and by PUT: 201 new, 200 unchanged', async () => {
    const post = async () => {
      const form = new FormData();
      form.set('manifest', JSON.stringify({ name: 'add-post', runtime: 'wasm', entry: 'add' }));
      form.set('module', new Blob([ADD_WASM], { type: 'application/wasm' }), 'add.wasm');
      return (await t.worker.app.request('/v1/functions', { method: 'POST', body: form })).status;
    };
    const put = async () =>
      (
        await t.worker.app.request('/v1/functions/add-put/module?entry=add', {
          method: 'PUT',
          headers: { 'content-type': 'application/wasm' },
          body: ADD_WASM,
        })
      ).status;
    expect([await post(), await put()]).toEqual([201, 201]);
    expect([await post(), await put()]).toEqual([200, 200]);
    const json = async () =>
      (await t.call('POST', '/v1/functions', jsFunction('add-json', 'export default () => 1'))).status;
    expect([await json(), await json()]).toEqual([201, 200]);
  });
});

describe('cancelling a finished execution', () => {
  it('answers 409 conflict naming its status', async () => {
    await t.call('POST', '/v1/functions', jsFunction('quick', 'export default () => 42'));
    const record = (await (await t.call('POST', '/v1/functions/quick/invoke', '{}')).json()) as { id: string };
    const res = await t.call('POST', `/v1/executions/${record.id}/cancel`);
    expect(res.status).toBe(409);
    const error = (await res.json()) as { error: { code: string; message: string; details: { status: string } } };
    expect(error.error).toMatchObject({ code: 'conflict', details: { status: 'succeeded' } });
    expect(error.error.message).toContain('already ended (succeeded)');
  });
});
