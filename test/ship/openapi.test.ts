/**
 * GET /openapi.json: OpenAPI 3.1, every route the worker app serves is in it and nothing else,
 * every schema in it compiles as JSON Schema 2020-12, and real answers of the worker validate
 * against the schema the document gives their route and status. GET /docs serves its assets itself.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsFunction, startTestWorker, type TestWorker } from '../gateway/support.ts';

let t: TestWorker;
// biome-ignore lint/suspicious/noExplicitAny: the parsed document is walked freely
type Json = any;
let doc: Record<string, Json>;
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

beforeAll(async () => {
  t = await startTestWorker();
  const res = await t.worker.app.request('/openapi.json');
  expect(res.status).toBe(200);
  doc = (await res.json()) as Record<string, Json>;
  ajv.addSchema({ ...doc, $id: 'strata:openapi' });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Validate an answer against the document's schema for (method, route, status). */
async function conforms(method: string, route: string, res: Response): Promise<void> {
  const path = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  const answer = doc.paths[path]?.[method]?.responses?.[String(res.status)];
  expect(answer, `${method} ${route} ${res.status} is not in the document`).toBeDefined();
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
  if (type !== 'application/json') return;
  expect(answer.content?.['application/json'], `${method} ${route} ${res.status} has no JSON schema`).toBeDefined();
  const validate = ajv.getSchema(
    `strata:openapi#/${pointer('paths', path, method, 'responses', String(res.status), 'content', 'application/json', 'schema')}`,
  )!;
  const body = await res.json();
  const ok = validate(body);
  expect(ok, `${method} ${route} ${res.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
}

describe('GET /openapi.json', () => {
  it('is OpenAPI 3.1 with every served route and no other', () => {
    expect(doc.openapi).toBe('3.1.0');
    const served = new Set<string>();
    for (const { method, path } of t.worker.app.routes) {
      if (method === 'ALL' || path.includes('*')) continue; // middleware
      served.add(`${method} ${path}`);
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, object>))
      for (const method of Object.keys(item))
        documented.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`);
    const missing = [...served].filter((r) => !documented.has(r));
    const extra = [...documented].filter((r) => !served.has(r));
    expect(missing, 'served but not documented: add them to src/gateway/openapi/worker-routes.ts').toEqual([]);
    expect(extra, 'documented but not served').toEqual([]);
  });

  it('documents query parameters, bodies and error codes', () => {
    const list = doc.paths['/v1/executions'].get;
    expect(list.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['cursor', 'function', 'limit', 'since', 'status', 'tier', 'until'].sort(),
    );
    const deploy = doc.paths['/v1/functions'].post;
    expect(deploy.requestBody.content['application/json'].schema.properties.runtime.enum).toContain('wasm');
    expect(deploy.responses['400'].description).toContain('invalid_manifest');
    expect(doc.paths['/v1/executions/{id}'].get.responses['404'].description).toContain('not_found');
    expect(doc.paths['/v1/executions/{id}'].get.responses['401'].description).toContain('unauthorized');
  });

  it('has schemas that all compile as JSON Schema 2020-12', () => {
    let count = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>))
      for (const [method, op] of Object.entries(item))
        for (const status of Object.keys(op.responses)) {
          if (!op.responses[status].content?.['application/json']) continue;
          const ref = `strata:openapi#/${pointer('paths', path, method, 'responses', status, 'content', 'application/json', 'schema')}`;
          expect(() => ajv.getSchema(ref), ref).not.toThrow();
          count++;
        }
    expect(count).toBeGreaterThan(30);
  });

  it('describes the answers the worker really gives', async () => {
    const call = async (method: string, route: string, path: string, body?: unknown) => {
      const res = await t.call(method, path, body);
      await conforms(method.toLowerCase(), route, res.clone());
      return res;
    };
    await call('GET', '/healthz', '/healthz');
    await call(
      'POST',
      '/v1/functions',
      '/v1/functions',
      jsFunction('doc-fn', 'export default (x, ctx) => { ctx.log("hi"); return x; }'),
    );
    await call('POST', '/v1/functions', '/v1/functions', { name: 'Bad Name', runtime: 'js' });
    await call('GET', '/v1/functions', '/v1/functions');
    await call('GET', '/v1/functions/:name', '/v1/functions/doc-fn');
    await call('GET', '/v1/functions/:name', '/v1/functions/missing');
    const run = await call('POST', '/v1/functions/:name/invoke', '/v1/functions/doc-fn/invoke', { a: 1 });
    const id = ((await run.json()) as { id: string }).id;
    const accepted = await call('POST', '/v1/functions/:name/invoke', '/v1/functions/doc-fn/invoke?async=1', 2);
    expect(accepted.status).toBe(202);
    await call('GET', '/v1/executions/:id', `/v1/executions/${id}`);
    await call('GET', '/v1/executions', '/v1/executions?limit=2');
    await call('GET', '/v1/executions', '/v1/executions?status=nope');
    await call('GET', '/v1/functions/:name/executions', '/v1/functions/doc-fn/executions');
    await call('GET', '/v1/executions/:id/logs', `/v1/executions/${id}/logs`);
    await call('GET', '/v1/executions/:id/logs', '/v1/executions/missing/logs');
    await call('POST', '/v1/executions/:id/cancel', `/v1/executions/${id}/cancel`);
    await call('GET', '/v1/functions/:name/aliases', '/v1/functions/doc-fn/aliases');
    await call('DELETE', '/v1/functions/:name', '/v1/functions/doc-fn');
  }, 60_000);
});

describe('GET /docs', () => {
  it('renders the reference from local assets only', async () => {
    const page = await t.worker.app.request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset.startsWith('/docs/assets/'), asset).toBe(true);
      const res = await t.worker.app.request(asset);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(10);
    }
    expect((await t.worker.app.request('/docs/assets/..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await t.worker.app.request('/docs/assets/nope.js')).status).toBe(404);
  });
});
