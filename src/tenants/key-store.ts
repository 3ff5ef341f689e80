/**
 * API keys: each belongs to a tenant and carries scopes. A key is shown once, when it is made;
 * only its SHA-256 is stored (keys are 256 random bits, so a plain hash is enough: there is
 * nothing to brute-force). The key names its row (`stk_<id>_<secret>`), so checking one is a
 * primary-key lookup and one constant-time comparison. Revocation and expiry take effect on the
 * next request: nothing is cached.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { StrataError } from '../core/errors.ts';
import type { Database } from '../store/database.ts';
import type { Principal } from './principal.ts';
import { isScope, type Scope } from './scopes.ts';

export interface ApiKeyInfo {
  id: string;
  tenant: string;
  scopes: Scope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const MIGRATIONS = [
  `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     tenant TEXT NOT NULL,
     scopes TEXT NOT NULL,
     hash TEXT NOT NULL,
     created_at TEXT NOT NULL,
     expires_at TEXT,
     last_used_at TEXT,
     revoked_at TEXT
   );`,
];

interface Row {
  id: string;
  tenant: string;
  scopes: string;
  hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const KEY = /^stk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const hashOf = (key: string) => createHash('sha256').update(key).digest();

const infoOf = (row: Row): ApiKeyInfo => ({
  id: row.id,
  tenant: row.tenant,
  scopes: JSON.parse(row.scopes) as Scope[],
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

/** Why a presented key does not open the API (the 401 message says which). */
export type KeyRefusal = 'unknown' | 'expired' | 'revoked';

export class KeyStore {
  readonly #db: Database;
  readonly #now: () => number;
  /** last_used_at is written at most this often per key (not on every request). */
  readonly #touchMs: number;
  #live: number;

  constructor(db: Database, options: { now?: () => number; touchMs?: number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#touchMs = options.touchMs ?? 10_000;
    db.migrate('api-keys', MIGRATIONS);
    this.#live = this.#countLive();
  }

  #countLive(): number {
    const row = this.#db.db
      .prepare('SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)')
      .get(new Date(this.#now()).toISOString()) as { n: number };
    return row.n;
  }

  /** Whether any key exists that has not been revoked (expired ones count until checked again). */
  hasKeys(): boolean {
    return this.#live > 0;
  }

  create(input: { tenant: string; scopes: readonly string[]; expiresAt?: number }): ApiKeyInfo & { key: string } {
    const scopes = [...new Set(input.scopes)];
    const bad = scopes.filter((s) => !isScope(s));
    if (scopes.length === 0 || bad.length > 0) {
      throw new StrataError(
        'invalid_request',
        `scopes must be a non-empty list of functions:read, functions:write, invoke, executions:read, admin${bad.length ? `; unknown: ${bad.join(', ')}` : ''}`,
      );
    }
    const now = this.#now();
    if (input.expiresAt !== undefined && input.expiresAt <= now) {
      throw new StrataError('invalid_request', 'expires must be in the future');
    }
    const id = randomBytes(8).toString('hex');
    const key = `stk_${id}_${randomBytes(32).toString('base64url')}`;
    const createdAt = new Date(now).toISOString();
    const expiresAt = input.expiresAt !== undefined ? new Date(input.expiresAt).toISOString() : null;
    this.#db.db
      .prepare('INSERT INTO api_keys (id, tenant, scopes, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, input.tenant, JSON.stringify(scopes), hashOf(key).toString('hex'), createdAt, expiresAt);
    this.#live++;
    return {
      id,
      key,
      tenant: input.tenant,
      scopes: scopes as Scope[],
      createdAt,
      expiresAt,
      lastUsedAt: null,
      revokedAt: null,
    };
  }

  list(tenant?: string): ApiKeyInfo[] {
    const rows = (tenant === undefined
      ? this.#db.db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all()
      : this.#db.db
          .prepare('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_at, id')
          .all(tenant)) as unknown as Row[];
    return rows.map(infoOf);
  }

  get(id: string): ApiKeyInfo | undefined {
    const row = this.#db.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    return row ? infoOf(row) : undefined;
  }

  /** Revoke a key; it stops working at once. not_found for an unknown id. */
  revoke(id: string): ApiKeyInfo {
    const row = this.#db.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new StrataError('not_found', `no API key ${id}; list them with GET /v1/keys`);
    if (row.revoked_at === null) {
      const at = new Date(this.#now()).toISOString();
      this.#db.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(at, id);
      row.revoked_at = at;
      this.#live = this.#countLive();
    }
    return infoOf(row);
  }

  /** The principal a presented key stands for, or why it is refused. */
  verify(key: string): Principal | KeyRefusal {
    const match = KEY.exec(key);
    if (!match) return 'unknown';
    const row = this.#db.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(match[1] as string) as Row | undefined;
    if (!row) return 'unknown';
    const stored = Buffer.from(row.hash, 'hex');
    const given = hashOf(key);
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return 'unknown';
    if (row.revoked_at !== null) return 'revoked';
    const now = this.#now();
    if (row.expires_at !== null && Date.parse(row.expires_at) <= now) return 'expired';
    if (row.last_used_at === null || now - Date.parse(row.last_used_at) >= this.#touchMs) {
      this.#db.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(new Date(now).toISOString(), row.id);
    }
    return { keyId: row.id, tenant: row.tenant, scopes: JSON.parse(row.scopes) as Scope[] };
  }
}
