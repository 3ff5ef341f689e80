/**
 * The worker's secret store: values encrypted at rest (AES-256-GCM, a fresh IV per write) in
 * node:sqlite, under a key from `secrets.key` (STRATA_SECRETS_KEY) or a random one made at first
 * start in `<dataDir>/secrets-key` (mode 0600). Values are never returned by the API, logged or
 * put in a record; only the http tier reads them, at the moment it builds a request.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StrataError } from '../core/errors.ts';
import { readOrMakeKeyFile } from '../core/key-file.ts';
import { SECRET_NAME } from '../core/manifest.ts';
import type { Database } from '../store/database.ts';

const MIGRATIONS = [
  `CREATE TABLE secrets (
     name TEXT PRIMARY KEY,
     iv BLOB NOT NULL,
     tag BLOB NOT NULL,
     value BLOB NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
];

/** Largest secret value accepted (a token, a key; not a file store). */
export const MAX_SECRET_BYTES = 16 * 1024;

export interface SecretInfo {
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** The store's AES key: sha256 of the configured key text, or of the key file's (made once, 0600). */
export function secretsKey(configured: string, dataDir: string): Buffer {
  if (configured) return createHash('sha256').update(configured).digest();
  const file = join(dataDir, 'secrets-key');
  const text = readOrMakeKeyFile(
    file,
    (code) => `cannot read the secrets key ${file} (${code}); set STRATA_SECRETS_KEY or fix the file`,
  );
  return createHash('sha256').update(text).digest();
}

export class SecretStore {
  readonly #db: Database;
  readonly #key: Buffer;

  constructor(db: Database, key: Buffer) {
    this.#db = db;
    this.#key = key;
    db.migrate('secrets', MIGRATIONS);
  }

  set(name: string, value: string): SecretInfo {
    if (!SECRET_NAME.test(name))
      throw new StrataError('invalid_request', 'a secret name matches [A-Za-z0-9][A-Za-z0-9_.-]{0,127}');
    if (Buffer.byteLength(value) > MAX_SECRET_BYTES)
      throw new StrataError('payload_too_large', `a secret value is at most ${MAX_SECRET_BYTES} bytes`);
    if (/[\r\n\0]/.test(value))
      throw new StrataError('invalid_request', 'a secret value has no line breaks or NUL (it is sent as a header)');
    const iv = randomBytes(12);
    // The name is authenticated data: a value cannot be moved to another name in the database.
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(Buffer.from(name));
    const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    const now = new Date().toISOString();
    this.#db.db
      .prepare(
        `INSERT INTO secrets (name, iv, tag, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET iv = excluded.iv, tag = excluded.tag, value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(name, iv, cipher.getAuthTag(), sealed, now, now);
    return this.info(name) as SecretInfo;
  }

  info(name: string): SecretInfo | undefined {
    const row = this.#db.db.prepare('SELECT name, created_at, updated_at FROM secrets WHERE name = ?').get(name) as
      | { name: string; created_at: string; updated_at: string }
      | undefined;
    return row && { name: row.name, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  list(): SecretInfo[] {
    const rows = this.#db.db.prepare('SELECT name, created_at, updated_at FROM secrets ORDER BY name').all() as {
      name: string;
      created_at: string;
      updated_at: string;
    }[];
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at, updatedAt: r.updated_at }));
  }

  has(name: string): boolean {
    return this.info(name) !== undefined;
  }

  delete(name: string): boolean {
    return Number(this.#db.db.prepare('DELETE FROM secrets WHERE name = ?').run(name).changes) > 0;
  }

  /** The clear value, for the http tier only; undefined when there is no such secret. */
  reveal(name: string): string | undefined {
    const row = this.#db.db.prepare('SELECT iv, tag, value FROM secrets WHERE name = ?').get(name) as
      | { iv: Uint8Array; tag: Uint8Array; value: Uint8Array }
      | undefined;
    if (!row) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, row.iv).setAAD(Buffer.from(name));
      decipher.setAuthTag(row.tag);
      return Buffer.concat([decipher.update(row.value), decipher.final()]).toString('utf8');
    } catch {
      throw new StrataError(
        'invalid_config',
        `secret "${name}" cannot be decrypted: the secrets key (STRATA_SECRETS_KEY or <dataDir>/secrets-key) changed; set the secret again`,
      );
    }
  }
}
