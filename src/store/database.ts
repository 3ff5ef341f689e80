import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export interface Rider {
  write(): void;
  settled(committed: boolean): void;
}

/**
 * The embedded node:sqlite database (WAL). Each module owns its tables and declares them with
 * `migrate(namespace, steps)`: steps run once each, in order, tracked per namespace, so modules
 * add tables without touching a central list.
 */
export class Database {
  readonly db: DatabaseSync;
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL');
    // NORMAL in WAL mode: a process crash loses nothing committed; only an OS crash can.
    this.db.exec('PRAGMA synchronous = NORMAL');
    // A checkpoint runs inside the COMMIT that crosses the threshold, on the serving thread, and
    // copies each page once however often it changed since the last one: 4,000 pages (16 MiB of
    // WAL) instead of SQLite's 1,000 took a record's group-commit cost down by ~20% with the hot
    // index pages copied a quarter as often (docs/benchmarks.md, step 10). The WAL file is cut
    // back to 32 MiB after a checkpoint if it ever grew past that (a long reader held it).
    this.db.exec('PRAGMA wal_autocheckpoint = 4000');
    this.db.exec('PRAGMA journal_size_limit = 33554432');
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.db.exec('PRAGMA foreign_keys = ON');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (namespace TEXT NOT NULL, step INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (namespace, step))',
    );
  }

  /** Apply the steps of `namespace` not applied yet, each in its own transaction. */
  migrate(namespace: string, steps: readonly string[]): void {
    const row = this.db
      .prepare('SELECT COALESCE(MAX(step), 0) AS done FROM schema_migrations WHERE namespace = ?')
      .get(namespace) as { done: number };
    for (let step = row.done + 1; step <= steps.length; step++) {
      this.transaction(() => {
        this.db.exec(steps[step - 1] as string);
        this.db
          .prepare('INSERT INTO schema_migrations (namespace, step, applied_at) VALUES (?, ?, ?)')
          .run(namespace, step, new Date().toISOString());
      });
    }
  }

  /** Writes waiting to ride the next transaction (see rideNext). */
  #riders: Rider[] = [];

  /**
   * Add `rider`'s writes to the next transaction opened here (in practice the records' group
   * commit), just before its COMMIT: one commit instead of two. `settled` says whether they were
   * committed; a rider whose writes throw rolls the whole transaction back.
   */
  rideNext(rider: Rider): void {
    this.#riders.push(rider);
  }

  /** Whether a rider waits for a transaction (its owner may open an empty one to carry it). */
  get hasRiders(): boolean {
    return this.#riders.length > 0;
  }

  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    const riders = this.#riders.length > 0 ? this.#riders.splice(0) : undefined;
    let result: T;
    try {
      result = fn();
      if (riders) for (const rider of riders) rider.write();
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      if (riders) for (const rider of riders) rider.settled(false);
      throw err;
    }
    if (riders) for (const rider of riders) rider.settled(true);
    return result;
  }

  readonly #beforeClose: (() => void)[] = [];

  /** Run `fn` when the database is about to close (a module writing in batches flushes its last one). */
  beforeClose(fn: () => void): void {
    this.#beforeClose.push(fn);
  }

  close(): void {
    if (!this.db.isOpen) return;
    for (const fn of this.#beforeClose) fn();
    this.db.close();
  }
}
