/**
 * The function catalogue. A function is a name with numbered versions; each version is a
 * validated manifest plus its code, identified by a digest over both. The `latest` alias names
 * the version an invoke without a version runs, and every deploy moves it: content identical to
 * what `latest` runs changes nothing; content identical to an older version makes a new version
 * with that digest (so the newest deploy is what runs, and `rollback` steps back through deploys
 * in order); anything else makes a new version. Code lives in a content-addressed blob store;
 * manifests, versions and aliases in node:sqlite.
 */
import { join } from 'node:path';
import type { Artifact } from '../core/driver.ts';
import { StrataError } from '../core/errors.ts';
import { type Manifest, manifestSchema } from '../core/manifest.ts';
import type { Database } from '../store/database.ts';
import { DEFAULT_TENANT, qualify, tenantOfKey, unqualify } from '../tenants/namespace.ts';
import { AliasTable, type FunctionRef, LATEST, parseRef } from './aliases.ts';
import { BlobStore, sha256 } from './blob-store.ts';
import { canonicalJson } from './canonical-json.ts';

export interface FunctionVersion {
  name: string;
  version: number;
  /** sha256 over the canonical manifest and the code digest: the version's identity. */
  digest: string;
  codeDigest: string;
  codeSize: number;
  /** The manifest without `source` (the code is in the blob store). */
  manifest: Manifest;
  createdAt: string;
}

const MIGRATIONS = [
  `CREATE TABLE functions (
     name TEXT NOT NULL,
     version INTEGER NOT NULL,
     digest TEXT NOT NULL,
     code_digest TEXT NOT NULL,
     code_size INTEGER NOT NULL,
     manifest TEXT NOT NULL,
     created_at TEXT NOT NULL,
     deleted_at TEXT,
     PRIMARY KEY (name, version)
   );
   CREATE INDEX functions_digest ON functions (digest);`,
];

interface Row {
  name: string;
  version: number;
  digest: string;
  code_digest: string;
  code_size: number;
  manifest: string;
  created_at: string;
}

const toVersion = (row: Row): FunctionVersion => ({
  name: row.name,
  version: row.version,
  digest: row.digest,
  codeDigest: row.code_digest,
  codeSize: row.code_size,
  manifest: JSON.parse(row.manifest) as Manifest,
  createdAt: row.created_at,
});

/** Validate a submitted manifest, with errors that name the field and say what is accepted. */
export function parseManifest(input: unknown): Manifest {
  const result = manifestSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`);
  throw new StrataError('invalid_manifest', `invalid manifest: ${problems.join('; ')}`, { issues: problems });
}

/** Code of a textual runtime as text; bytes that are not UTF-8 cannot be the digest's source. */
function decodeSource(code: Uint8Array, digest: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(code);
  } catch {
    throw new StrataError(
      'invalid_code',
      `the artifact ${digest} is not UTF-8 text, so it is not the source it claims`,
    );
  }
}

export interface RegistryOptions {
  db: Database;
  dataDir: string;
}

export interface Deployment {
  manifest: Manifest;
  code: Uint8Array;
  digest: string;
  codeDigest: string;
}

/** What a deploy did: made a version (maybe with the digest of an older one, `sameAs`) or found `latest` identical. */
export interface StoreResult {
  created: boolean;
  fn: FunctionVersion;
  /** The older version whose content this new version repeats. */
  sameAs?: number;
}

export class Registry {
  readonly #db: Database;
  readonly blobs: BlobStore;
  readonly aliases: AliasTable;
  /** Decoded code by code digest; functions are small and invoked often. */
  readonly #codeCache = new Map<string, Uint8Array>();
  /** The latest live version per name: the invoke path's lookup (dropped on store and delete). */
  readonly #latest = new Map<string, FunctionVersion>();
  /**
   * Artifacts by version and digest, so repeated invocations share one object. Not by digest
   * alone: versions that repeat an older one's content share its digest but not its number.
   */
  readonly #artifacts = new Map<string, Artifact>();
  readonly #selectLatest;
  readonly #selectVersion;
  /**
   * Live versions by `name@version` (the governance gate asks for one on every invocation). A
   * version row never changes once stored; delete() drops a name's entries.
   */
  readonly #versions = new Map<string, FunctionVersion>();

  constructor(options: RegistryOptions) {
    this.#db = options.db;
    this.#db.migrate('registry', MIGRATIONS);
    this.#selectLatest = this.#db.db.prepare(
      'SELECT * FROM functions WHERE name = ? AND deleted_at IS NULL ORDER BY version DESC LIMIT 1',
    );
    this.#selectVersion = this.#db.db.prepare(
      'SELECT * FROM functions WHERE name = ? AND version = ? AND deleted_at IS NULL',
    );
    this.blobs = new BlobStore(join(options.dataDir, 'artifacts'));
    this.aliases = new AliasTable(this.#db);
  }

  /**
   * Work out what a submission would store, without storing it: the validated manifest, its code
   * (`source` for JS and scripts, the uploaded bytes for WASM) and its digest. A tenant's
   * function is stored under its qualified name (`acme/hello`, src/tenants/namespace.ts), which
   * is in the digest too: two tenants' identical functions never share a digest, so never a warm
   * sandbox or a cache.
   */
  plan(manifestInput: unknown, upload?: Uint8Array, tenant: string = DEFAULT_TENANT): Deployment {
    const manifest = parseManifest(manifestInput);
    manifest.name = qualify(tenant, manifest.name);
    if (manifest.runtime === 'wasm' && !upload) {
      throw new StrataError(
        'invalid_request',
        'a "wasm" function needs its module: send multipart fields "manifest" and "module"',
      );
    }
    const code = upload ?? new TextEncoder().encode(manifest.source ?? '');
    const { source: _source, ...stored } = manifest;
    const codeDigest = sha256(code);
    const digest = sha256(`${canonicalJson(stored)}\n${codeDigest}`);
    return { manifest: stored as Manifest, code, digest, codeDigest };
  }

  /** The existing version a planned deployment matches, if any. */
  existing(plan: Deployment): FunctionVersion | undefined {
    const row = this.#db.db
      .prepare(
        'SELECT * FROM functions WHERE name = ? AND digest = ? AND deleted_at IS NULL ORDER BY version DESC LIMIT 1',
      )
      .get(plan.manifest.name, plan.digest) as Row | undefined;
    return row ? toVersion(row) : undefined;
  }

  nextVersion(name: string): number {
    const row = this.#db.db
      .prepare('SELECT COALESCE(MAX(version), 0) AS v FROM functions WHERE name = ?')
      .get(name) as {
      v: number;
    };
    return row.v + 1;
  }

  /** The version `latest` points at, if the function is live. */
  latest(name: string): FunctionVersion | undefined {
    try {
      return this.get(name);
    } catch (err) {
      if ((err as StrataError).code === 'not_found') return undefined;
      throw err;
    }
  }

  /**
   * Store a planned deployment: nothing changes when `latest` already runs this content;
   * otherwise a new version (repeating an older one's digest when the content is the same) that
   * `latest` then points at.
   */
  store(plan: Deployment): StoreResult {
    const current = this.latest(plan.manifest.name);
    if (current?.digest === plan.digest) return { created: false, fn: current };
    const older = this.existing(plan);
    this.blobs.put(plan.code);
    const fn = this.#db.transaction(() => {
      const version = this.nextVersion(plan.manifest.name);
      const createdAt = new Date().toISOString();
      this.#db.db
        .prepare(
          'INSERT INTO functions (name, version, digest, code_digest, code_size, manifest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          plan.manifest.name,
          version,
          plan.digest,
          plan.codeDigest,
          plan.code.byteLength,
          JSON.stringify(plan.manifest),
          createdAt,
        );
      this.aliases.set(plan.manifest.name, LATEST, version);
      return {
        name: plan.manifest.name,
        version,
        digest: plan.digest,
        codeDigest: plan.codeDigest,
        codeSize: plan.code.byteLength,
        manifest: plan.manifest,
        createdAt,
      };
    });
    this.#latest.delete(fn.name);
    return older ? { created: true, fn, sameAs: older.version } : { created: true, fn };
  }

  /** plan + store in one step (callers that do not validate code first). */
  deploy(manifestInput: unknown, upload?: Uint8Array, tenant: string = DEFAULT_TENANT): StoreResult {
    return this.store(this.plan(manifestInput, upload, tenant));
  }

  /**
   * Store an artifact fetched from elsewhere (the Master), after checking it really is the
   * digest it was asked for.
   */
  importArtifact(manifestInput: unknown, code: Uint8Array, expectedDigest: string): FunctionVersion {
    const given = manifestInput as { runtime?: unknown; name?: unknown };
    // A tenant's function travels under its qualified name (`acme/hello`, which is in the digest):
    // stored again in that tenant's namespace.
    const key = typeof given.name === 'string' ? given.name : '';
    const tenant = tenantOfKey(key);
    const manifest = { ...given, ...(key ? { name: unqualify(tenant, key) } : {}) };
    // JS and scripts keep their code as `source` (a manifest without it is invalid); the rest as bytes.
    const textual = manifest.runtime === 'js' || manifest.runtime === 'script';
    const plan = textual
      ? this.plan({ ...manifest, source: decodeSource(code, expectedDigest) }, undefined, tenant)
      : this.plan({ ...manifest, source: undefined }, code, tenant);
    if (plan.digest !== expectedDigest) {
      throw new StrataError(
        'invalid_code',
        `the artifact does not match its digest (expected ${expectedDigest}, got ${plan.digest})`,
      );
    }
    return this.getByDigest(expectedDigest) ?? this.store(plan).fn;
  }

  /** The version `latest` points at (or the given one) of a live function; not_found otherwise. */
  get(name: string, version?: number): FunctionVersion {
    if (version === undefined) {
      const cached = this.#latest.get(name);
      if (cached) return cached;
      // `latest` is missing only for functions deployed before aliases existed: the newest version.
      const pointer = this.aliases.get(name, LATEST)?.version;
      if (pointer !== undefined) {
        const fn = this.#version(name, pointer);
        if (fn) {
          this.#latest.set(name, fn);
          return fn;
        }
      }
    }
    if (version !== undefined) {
      const fn = this.#version(name, version);
      if (fn) return fn;
    }
    const row = (version === undefined ? this.#selectLatest.get(name) : undefined) as Row | undefined;
    if (!row) {
      throw new StrataError(
        'not_found',
        version === undefined
          ? `no function named "${name}"; deploy it with POST /v1/functions`
          : `function "${name}" has no version ${version}`,
        { function: name, ...(version === undefined ? {} : { version }) },
      );
    }
    const fn = toVersion(row);
    if (version === undefined) this.#latest.set(name, fn);
    return fn;
  }

  #versionRow(name: string, version: number): Row | undefined {
    return this.#selectVersion.get(name, version) as Row | undefined;
  }

  #version(name: string, version: number): FunctionVersion | undefined {
    const key = `${name}@${version}`;
    const cached = this.#versions.get(key);
    if (cached) return cached;
    const row = this.#versionRow(name, version);
    if (!row) return undefined;
    const fn = toVersion(row);
    if (this.#versions.size >= 10_000) this.#versions.clear();
    this.#versions.set(key, fn);
    return fn;
  }

  /** `name`, `name@3` or `name@prod` (text or parsed) -> the version it names. */
  resolve(ref: string | FunctionRef): FunctionVersion {
    const { name, version, alias } = typeof ref === 'string' ? parseRef(ref) : ref;
    if (alias === undefined || alias === LATEST) return this.get(name, version);
    const pointer = this.aliases.get(name, alias);
    if (!pointer) {
      this.get(name); // not_found for the function itself first
      throw new StrataError(
        'not_found',
        `function "${name}" has no alias "${alias}"; set it with PUT /v1/functions/${name}/aliases/${alias}`,
        { function: name, alias },
      );
    }
    return this.get(name, pointer.version);
  }

  /** Drop what the registry remembers of `name`'s `latest` (after an alias moved). */
  forgetLatest(name: string): void {
    this.#latest.delete(name);
  }

  getByDigest(digest: string): FunctionVersion | undefined {
    const row = this.#db.db
      .prepare('SELECT * FROM functions WHERE digest = ? ORDER BY version DESC LIMIT 1')
      .get(digest) as Row | undefined;
    return row ? toVersion(row) : undefined;
  }

  /** The version `latest` names of every live function. */
  list(): FunctionVersion[] {
    const rows = this.#db.db
      .prepare(
        `SELECT f.* FROM functions f
         JOIN (SELECT n.name, COALESCE(
                 (SELECT a.version FROM function_aliases a WHERE a.name = n.name AND a.alias = 'latest'),
                 MAX(n.version)) AS version
               FROM functions n WHERE n.deleted_at IS NULL GROUP BY n.name) latest
           ON latest.name = f.name AND latest.version = f.version
         ORDER BY f.name`,
      )
      .all() as unknown as Row[];
    return rows.map(toVersion);
  }

  versions(name: string): FunctionVersion[] {
    const rows = this.#db.db
      .prepare('SELECT * FROM functions WHERE name = ? AND deleted_at IS NULL ORDER BY version')
      .all(name) as unknown as Row[];
    return rows.map(toVersion);
  }

  /** Hide every version of a function; its execution records stay. Returns the versions removed. */
  delete(name: string): FunctionVersion[] {
    const live = this.versions(name);
    if (live.length === 0) throw new StrataError('not_found', `no function named "${name}"`);
    this.#db.db
      .prepare('UPDATE functions SET deleted_at = ? WHERE name = ? AND deleted_at IS NULL')
      .run(new Date().toISOString(), name);
    this.aliases.deleteAll(name);
    this.#latest.delete(name);
    for (const fn of live) this.#versions.delete(`${fn.name}@${fn.version}`);
    for (const fn of live) this.#artifacts.delete(`${fn.name}@${fn.version}:${fn.digest}`);
    return live;
  }

  /** The code of a version (from the blob store, cached). */
  code(fn: FunctionVersion): Uint8Array {
    let code = this.#codeCache.get(fn.codeDigest);
    if (!code) {
      code = this.blobs.get(fn.codeDigest);
      if (this.#codeCache.size > 1024) this.#codeCache.clear();
      this.#codeCache.set(fn.codeDigest, code);
    }
    return code;
  }

  artifact(fn: FunctionVersion): Artifact {
    const key = `${fn.name}@${fn.version}:${fn.digest}`;
    let artifact = this.#artifacts.get(key);
    if (!artifact) {
      artifact = { digest: fn.digest, name: fn.name, version: fn.version, manifest: fn.manifest, code: this.code(fn) };
      if (this.#artifacts.size > 1024) this.#artifacts.clear();
      this.#artifacts.set(key, artifact);
    }
    return artifact;
  }

  /** The artifact of a plan not stored yet (deploy-time validation by the tier). */
  planArtifact(plan: Deployment, version: number): Artifact {
    return { digest: plan.digest, name: plan.manifest.name, version, manifest: plan.manifest, code: plan.code };
  }
}
