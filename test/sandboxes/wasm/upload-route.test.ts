/** The raw application/wasm upload route, tested in-process with app.request(). */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { isStrataError } from '../../../src/core/errors.ts';
import type { ManifestInput } from '../../../src/core/manifest.ts';
import { wasmUploadRoutes } from '../../../src/gateway/routes/wasm-upload.ts';
import { wat } from './wat.ts';

function app(deploy = async (m: ManifestInput, b: Uint8Array) => ({ name: m.name, manifest: m, bytes: b.length })) {
  const calls: ManifestInput[] = [];
  const routes = wasmUploadRoutes({
    deploy: async (m, b) => {
      calls.push(m);
      return deploy(m, b);
    },
    maxBytes: 1024,
  });
  const root = new Hono();
  root.route('/', routes);
  // Stand-in for the gateway's one error handler (code -> status).
  const status: Record<string, 400 | 413> = { invalid_request: 400, invalid_code: 400, payload_too_large: 413 };
  root.onError((err, c) =>
    isStrataError(err) ? c.json({ error: err.toJSON() }, status[err.code] ?? 400) : c.json({ error: String(err) }, 500),
  );
  return { root, calls };
}

const put = (root: Hono, path: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
  root.request(path, { method: 'PUT', body, headers: { 'content-type': 'application/wasm', ...headers } });

describe('PUT /v1/functions/:name/module', () => {
  it('deploys a module with a manifest from the query', async () => {
    const { root, calls } = app();
    const bytes = await wat(
      '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))',
    );
    const res = await put(root, '/v1/functions/adder/module?entry=add&fuel=1000&memoryMb=16&tmp=1', bytes);
    expect(res.status).toBe(201);
    expect(calls[0]).toEqual({
      name: 'adder',
      runtime: 'wasm',
      entry: 'add',
      limits: { fuel: 1000, memoryMb: 16 },
      permissions: { tmp: true },
    });
  });

  it('takes a whole manifest from X-Strata-Manifest', async () => {
    const { root, calls } = app();
    const bytes = await wat('(module (func (export "_start")))');
    const res = await put(root, '/v1/functions/cmd/module', bytes, {
      'x-strata-manifest': JSON.stringify({ trust: 'untrusted', limits: { timeoutMs: 100 } }),
    });
    expect(res.status).toBe(201);
    expect(calls[0]).toMatchObject({ name: 'cmd', runtime: 'wasm', trust: 'untrusted', limits: { timeoutMs: 100 } });
  });

  it('refuses random bytes (400), a wrong content type (400) and an oversized body (413) before deploying', async () => {
    const { root, calls } = app();
    const junk = await put(root, '/v1/functions/x/module', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { error: { code: string } }).error.code).toBe('invalid_code');
    const json = await put(root, '/v1/functions/x/module', '{}', { 'content-type': 'application/json' });
    expect(json.status).toBe(400);
    const big = await put(root, '/v1/functions/x/module', new Uint8Array(4096));
    expect(big.status).toBe(413);
    expect(calls).toHaveLength(0);
  });
});
