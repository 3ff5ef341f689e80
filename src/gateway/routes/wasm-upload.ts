/**
 * Raw WASM upload: `PUT /v1/functions/:name/module` with the module or component bytes as the
 * body (`Content-Type: application/wasm`). The manifest comes from query parameters
 * (`entry`, `trust`, `timeoutMs`, `memoryMb`, `fuel`, `tmp=1`) or, whole, from the
 * `X-Strata-Manifest` header (JSON; `name` and `runtime` are filled in). The bytes are checked
 * cheaply here (size, magic) and then handed to `deploy`, which stores the function through
 * the registry; the wasm tier's prepare() validates and transforms it, and a refusal
 * (StrataError 'invalid_code', naming the import or section) becomes 400 in the gateway's
 * error handler. Answers 201 with whatever `deploy` returns (name, version, digest, tier, ...), or
 * 200 when the module and manifest are what `latest` already runs.
 */
import { Hono } from 'hono';
import { checkMagic } from '../../../sandboxes/wasm/validate.ts';
import { StrataError } from '../../core/errors.ts';
import type { ManifestInput } from '../../core/manifest.ts';

export interface WasmUploadRoutesOptions {
  /** Store a function version from its manifest and module bytes (registry + driver prepare). */
  deploy: (manifest: ManifestInput, module: Uint8Array, tenant: string) => Promise<object>;
  /** Largest body accepted (config wasm.maxUpload); larger ones get 413 before being buffered. */
  maxBytes: number;
}

const NUMERIC = ['timeoutMs', 'memoryMb', 'fuel'] as const;

/** The manifest a raw upload describes, from the header or the query. */
export function uploadManifest(name: string, query: Record<string, string>, header: string | undefined): ManifestInput {
  if (header) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(header);
    } catch {
      throw new StrataError('invalid_request', 'X-Strata-Manifest must be a JSON object');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new StrataError('invalid_request', 'X-Strata-Manifest must be a JSON object');
    }
    return { ...(parsed as ManifestInput), name, runtime: 'wasm' };
  }
  const limits: Record<string, number> = {};
  for (const key of NUMERIC) {
    const value = query[key];
    if (value === undefined) continue;
    const number = Number(value);
    if (!Number.isInteger(number) || number <= 0) {
      throw new StrataError('invalid_request', `query parameter ${key} must be a positive integer, got "${value}"`);
    }
    limits[key] = number;
  }
  const manifest: ManifestInput = { name, runtime: 'wasm', limits };
  if (query.entry) manifest.entry = query.entry;
  if (query.trust) manifest.trust = query.trust as ManifestInput['trust'];
  if (query.tmp === '1' || query.tmp === 'true') manifest.permissions = { tmp: true };
  return manifest;
}

/** Read at most `max` bytes of the body; more is 413 (the stream is cancelled, not buffered). */
async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw new StrataError('payload_too_large', `the module is larger than ${max} bytes (wasm.maxUpload)`);
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export function wasmUploadRoutes(options: WasmUploadRoutesOptions): Hono {
  const app = new Hono();
  app.put('/v1/functions/:name/module', async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/wasm' && type !== 'application/octet-stream') {
      throw new StrataError('invalid_request', 'send the module as the body with Content-Type: application/wasm');
    }
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      throw new StrataError(
        'payload_too_large',
        `the module is larger than ${options.maxBytes} bytes (wasm.maxUpload)`,
      );
    }
    const manifest = uploadManifest(c.req.param('name'), c.req.query(), c.req.header('x-strata-manifest'));
    const bytes = await readCapped(c.req.raw.body, options.maxBytes);
    if (bytes.length === 0) throw new StrataError('invalid_request', 'the request body is empty; send the .wasm bytes');
    checkMagic(bytes);
    // The tenant the auth middleware found (its namespace); `default` without one.
    const tenant = (c.get as (key: string) => unknown)('tenant');
    const deployed = await options.deploy(manifest, bytes, typeof tenant === 'string' ? tenant : 'default');
    // The same status as POST /v1/functions: 201 for a new version, 200 when nothing changed.
    return c.json(deployed, (deployed as { created?: boolean }).created === false ? 200 : 201);
  });
  return app;
}
