/** The function registry: versions, digests, content-addressed blobs, persistence across a restart. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore, sha256 } from '../../src/registry/blob-store.ts';
import { canonicalJson } from '../../src/registry/canonical-json.ts';
import { deployFunction } from '../../src/registry/deploy.ts';
import { Registry } from '../../src/registry/registry.ts';
import { Database } from '../../src/store/database.ts';

let dataDir: string;
let db: Database;
let registry: Registry;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'strata-registry-'));
  db = new Database(join(dataDir, 'strata.db'));
  registry = new Registry({ db, dataDir });
});
afterEach(() => {
  db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const js = (name: string, source: string, extra: Record<string, unknown> = {}) => ({
  name,
  runtime: 'js',
  trust: 'trusted',
  source,
  ...extra,
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined, keeping array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ b: 2, a: 1 })).toBe(canonicalJson({ a: 1, b: 2 }));
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(null)).toBe('null');
  });
});

describe('BlobStore', () => {
  it('stores a blob under sha256/<2 hex>/<digest> and reads it back', () => {
    const blobs = new BlobStore(join(dataDir, 'blobs'));
    const data = new TextEncoder().encode('hello blob');
    const digest = blobs.put(data);
    expect(digest).toBe(sha256(data));
    const path = join(dataDir, 'blobs', 'sha256', digest.slice(0, 2), digest);
    expect(blobs.pathOf(digest)).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe('hello blob');
    expect(new TextDecoder().decode(blobs.get(digest))).toBe('hello blob');
    expect(blobs.put(data)).toBe(digest);
  });

  it('refuses a corrupt blob and a malformed digest', () => {
    const blobs = new BlobStore(join(dataDir, 'blobs'));
    const digest = blobs.put(new TextEncoder().encode('original'));
    writeFileSync(blobs.pathOf(digest), 'tampered');
    expect(() => blobs.get(digest)).toThrow(/corrupt/);
    expect(() => blobs.pathOf('../../etc/passwd')).toThrow(/not a sha256 digest/);
  });
});

describe('Registry', () => {
  it('deploys version 1 with a digest over manifest and code, and keeps the code as a blob', () => {
    const { created, fn } = registry.deploy(js('hello', 'export default () => 1'));
    expect(created).toBe(true);
    expect(fn).toMatchObject({ name: 'hello', version: 1, codeSize: 'export default () => 1'.length });
    expect(fn.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(fn.codeDigest).toBe(sha256('export default () => 1'));
    expect(fn.manifest).not.toHaveProperty('source');
    expect(existsSync(join(dataDir, 'artifacts', 'sha256', fn.codeDigest.slice(0, 2), fn.codeDigest))).toBe(true);
    expect(new TextDecoder().decode(registry.code(fn))).toBe('export default () => 1');
  });

  it('returns the existing version for an identical submission, whatever the key order', () => {
    const first = registry.deploy(js('same', 'export default () => 1', { limits: { timeoutMs: 100, memoryMb: 16 } }));
    const again = registry.deploy({
      limits: { memoryMb: 16, timeoutMs: 100 },
      source: 'export default () => 1',
      trust: 'trusted',
      runtime: 'js',
      name: 'same',
    });
    expect(again.created).toBe(false);
    expect(again.fn.version).toBe(first.fn.version);
    expect(again.fn.digest).toBe(first.fn.digest);
    // Defaults applied count as the same manifest: trust "standard" spelled out equals it left out.
    const implicit = registry.deploy({ name: 'std', runtime: 'js', source: 'x' });
    expect(registry.deploy({ name: 'std', runtime: 'js', source: 'x', trust: 'standard' }).fn.digest).toBe(
      implicit.fn.digest,
    );
  });

  it('makes a new version when the code or the manifest changes', () => {
    const v1 = registry.deploy(js('f', 'export default () => 1')).fn;
    const v2 = registry.deploy(js('f', 'export default () => 2')).fn;
    const v3 = registry.deploy(js('f', 'export default () => 2', { limits: { timeoutMs: 500 } })).fn;
    expect([v1.version, v2.version, v3.version]).toEqual([1, 2, 3]);
    expect(new Set([v1.digest, v2.digest, v3.digest]).size).toBe(3);
    expect(v3.codeDigest).toBe(v2.codeDigest);
    expect(registry.get('f').version).toBe(3);
    expect(registry.get('f', 1).digest).toBe(v1.digest);
    expect(registry.versions('f').map((v) => v.version)).toEqual([1, 2, 3]);
    expect(registry.list().map((f) => [f.name, f.version])).toEqual([['f', 3]]);
    // Back to the first code and manifest: a new version with v1's digest, and it is what runs.
    expect(registry.deploy(js('f', 'export default () => 1'))).toMatchObject({
      created: true,
      sameAs: 1,
      fn: { version: 4, digest: v1.digest },
    });
    expect(registry.get('f')).toMatchObject({ version: 4, digest: v1.digest });
    // Deploying what latest already runs changes nothing.
    expect(registry.deploy(js('f', 'export default () => 1'))).toMatchObject({ created: false, fn: { version: 4 } });
  });

  it('hides deleted functions, and numbers a redeploy after the old versions', () => {
    registry.deploy(js('gone', 'export default () => 1'));
    registry.deploy(js('gone', 'export default () => 2'));
    expect(registry.delete('gone').map((v) => v.version)).toEqual([1, 2]);
    expect(() => registry.get('gone')).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(registry.list()).toEqual([]);
    expect(() => registry.delete('gone')).toThrow(expect.objectContaining({ code: 'not_found' }));
    const again = registry.deploy(js('gone', 'export default () => 1'));
    expect(again).toMatchObject({ created: true, fn: { version: 3 } });
  });

  it('refuses invalid manifests with invalid_manifest naming the field', () => {
    expect(() => registry.deploy(js('UPPER', 'x'))).toThrow(/name:/);
    expect(() => registry.deploy({ name: 'a', runtime: 'js' })).toThrow(/source:/);
    expect(() => registry.deploy(js('a', 'x', { limits: { memoryMb: 1 } }))).toThrow(/limits\.memoryMb:/);
    expect(() => registry.deploy(js('a', 'x', { extra: true }))).toThrow(
      expect.objectContaining({ code: 'invalid_manifest' }),
    );
    expect(() => registry.deploy({ name: 'w', runtime: 'wasm' })).toThrow(/module/);
  });

  it('deployFunction reviews only new versions, and a refused review stores nothing', async () => {
    let reviews = 0;
    const review = async () => {
      reviews++;
    };
    await deployFunction(registry, js('r', 'export default () => 1'), undefined, review);
    await deployFunction(registry, js('r', 'export default () => 1'), undefined, review);
    expect(reviews).toBe(1);
    await expect(
      deployFunction(registry, js('r', 'broken ('), undefined, async () => {
        throw new Error('syntax error');
      }),
    ).rejects.toThrow('syntax error');
    expect(registry.versions('r').map((v) => v.version)).toEqual([1]);
  });

  it('imports a JS artifact (manifest without source + code bytes) only when it matches its digest', () => {
    // As the Master sends it: the stored manifest (no source) and the code.
    const { fn } = registry.deploy(js('src', '\uFEFF// bom and ünïcode\nexport default () => 7'));
    const code = registry.code(fn);
    const otherDir = mkdtempSync(join(tmpdir(), 'strata-registry-'));
    const otherDb = new Database(join(otherDir, 'strata.db'));
    try {
      const other = new Registry({ db: otherDb, dataDir: otherDir });
      expect(() => other.importArtifact(fn.manifest, code, 'f'.repeat(64))).toThrow(/does not match its digest/);
      expect(() => other.importArtifact(fn.manifest, new Uint8Array([0xff, 0xfe]), fn.digest)).toThrow(/UTF-8/);
      const imported = other.importArtifact(fn.manifest, code, fn.digest);
      expect(imported).toMatchObject({ name: 'src', version: 1, digest: fn.digest });
      expect(other.code(imported)).toEqual(code);
      expect(other.importArtifact(fn.manifest, code, fn.digest).version).toBe(1);
    } finally {
      otherDb.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('loses no function across a restart on the same data dir', () => {
    registry.deploy(js('keep', 'export default () => 1'));
    const v2 = registry.deploy(js('keep', 'export default () => 2')).fn;
    registry.deploy(js('dropped', 'export default () => 3'));
    registry.delete('dropped');
    db.close();

    db = new Database(join(dataDir, 'strata.db'));
    registry = new Registry({ db, dataDir });
    const fn = registry.get('keep');
    expect(fn).toMatchObject({ version: 2, digest: v2.digest });
    expect(new TextDecoder().decode(registry.code(fn))).toBe('export default () => 2');
    expect(registry.versions('keep').map((v) => v.version)).toEqual([1, 2]);
    expect(registry.list().map((f) => f.name)).toEqual(['keep']);
    expect(registry.deploy(js('keep', 'export default () => 2')).created).toBe(false);
  });
});
