/**
 * The durable outbox (node:sqlite): a final result is written here before it is sent and leaves
 * only when the Master acknowledges it, so a reconnect or a worker restart loses no result.
 */
import type { StatementSync } from 'node:sqlite';
import type { Database } from '../store/database.ts';

const MIGRATIONS = [
  `CREATE TABLE link_outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     master_id TEXT NOT NULL,
     task_id TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     status TEXT NOT NULL,
     error_code TEXT NOT NULL,
     record_json TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX link_outbox_master ON link_outbox(master_id, id);`,
];

export interface OutboxEntry {
  id: number;
  masterId: string;
  taskId: string;
  attempt: number;
  /** uint64 as decimal text: stored as an SQLite integer (64-bit, exact), read back as text. */
  epoch: string;
  status: string;
  errorCode: string;
  recordJson: string;
}

export class Outbox {
  readonly #db: Database;
  readonly #s: Record<'add' | 'remove' | 'pending' | 'refs' | 'count', StatementSync>;

  constructor(db: Database) {
    this.#db = db;
    db.migrate('link', MIGRATIONS);
    const p = (sql: string) => db.db.prepare(sql);
    this.#s = {
      add: p(
        'INSERT INTO link_outbox (master_id, task_id, attempt, epoch, status, error_code, record_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      remove: p('DELETE FROM link_outbox WHERE id = ?'),
      pending: p(
        'SELECT id, master_id AS masterId, task_id AS taskId, attempt, CAST(epoch AS TEXT) AS epoch, status, error_code AS errorCode, record_json AS recordJson FROM link_outbox ORDER BY id',
      ),
      refs: p('SELECT task_id AS taskId, attempt, CAST(epoch AS TEXT) AS epoch FROM link_outbox'),
      count: p('SELECT COUNT(*) AS n FROM link_outbox'),
    };
  }

  add(entry: Omit<OutboxEntry, 'id'>): number {
    const r = this.#s.add.run(
      entry.masterId,
      entry.taskId,
      entry.attempt,
      entry.epoch,
      entry.status,
      entry.errorCode,
      entry.recordJson,
      Date.now(),
    );
    return Number(r.lastInsertRowid);
  }

  /** Several entries in one transaction (one commit); returns their ids in order. */
  addAll(entries: Omit<OutboxEntry, 'id'>[]): number[] {
    return this.#db.transaction(() => entries.map((e) => this.add(e)));
  }

  removeAll(ids: number[]): number {
    return this.#db.transaction(() => ids.reduce((n, id) => n + (this.remove(id) ? 1 : 0), 0));
  }

  remove(id: number): boolean {
    return Number(this.#s.remove.run(id).changes) > 0;
  }

  /**
   * Every unacknowledged result, oldest first, whichever Master dispatched it: master_id is not a
   * key (link.proto), so any connected Master takes them (a shared store, or a Master restarted
   * under a new id). `masterId` is kept for the record only.
   */
  pending(): OutboxEntry[] {
    return this.#s.pending.all() as unknown as OutboxEntry[];
  }

  /** Tasks with an unacknowledged result (part of Register.held). */
  refs(): { taskId: string; attempt: number; epoch: string }[] {
    return this.#s.refs.all() as unknown as { taskId: string; attempt: number; epoch: string }[];
  }

  count(): number {
    return (this.#s.count.get() as { n: number }).n;
  }
}
