/**
 * Named pointers to a function's versions. `latest` is the one an invoke without a version runs:
 * every deploy moves it to the version it made (or found), `promote` and `rollback` move it by
 * hand. Other aliases (`prod`, `canary`) move only when told. Invoke `name@alias` or `name@3`.
 */
import { StrataError } from '../core/errors.ts';
import type { Database } from '../store/database.ts';

/** Aliases start with a letter, so `name@3` is always a version and `name@prod` an alias. */
export const ALIAS_NAME = /^[a-z][a-z0-9-]{0,62}$/;
export const LATEST = 'latest';

export interface Alias {
  alias: string;
  version: number;
  updatedAt: string;
}

/** What `name`, `name@3` or `name@prod` asks for. */
export interface FunctionRef {
  name: string;
  version?: number;
  alias?: string;
}

export function parseRef(text: string): FunctionRef {
  const at = text.indexOf('@');
  if (at < 0) return { name: text };
  const name = text.slice(0, at);
  const ref = text.slice(at + 1);
  if (/^\d+$/.test(ref) && Number(ref) >= 1) return { name, version: Number(ref) };
  if (ALIAS_NAME.test(ref)) return { name, alias: ref };
  throw new StrataError(
    'invalid_request',
    `"${text}" is not a function reference: write name, name@<version> (name@3) or name@<alias> (name@prod)`,
  );
}

const MIGRATIONS = [
  `CREATE TABLE function_aliases (
     name TEXT NOT NULL,
     alias TEXT NOT NULL,
     version INTEGER NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (name, alias)
   );`,
];

interface Row {
  alias: string;
  version: number;
  updated_at: string;
}

const toAlias = (row: Row): Alias => ({ alias: row.alias, version: row.version, updatedAt: row.updated_at });

export class AliasTable {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
    db.migrate('aliases', MIGRATIONS);
  }

  get(name: string, alias: string): Alias | undefined {
    const row = this.#db.db
      .prepare('SELECT alias, version, updated_at FROM function_aliases WHERE name = ? AND alias = ?')
      .get(name, alias) as Row | undefined;
    return row ? toAlias(row) : undefined;
  }

  list(name: string): Alias[] {
    const rows = this.#db.db
      .prepare('SELECT alias, version, updated_at FROM function_aliases WHERE name = ? ORDER BY alias')
      .all(name) as unknown as Row[];
    return rows.map(toAlias);
  }

  set(name: string, alias: string, version: number): Alias {
    const updatedAt = new Date().toISOString();
    this.#db.db
      .prepare(
        `INSERT INTO function_aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
      )
      .run(name, alias, version, updatedAt);
    return { alias, version, updatedAt };
  }

  delete(name: string, alias: string): boolean {
    return (
      this.#db.db.prepare('DELETE FROM function_aliases WHERE name = ? AND alias = ?').run(name, alias).changes > 0
    );
  }

  deleteAll(name: string): void {
    this.#db.db.prepare('DELETE FROM function_aliases WHERE name = ?').run(name);
  }
}
