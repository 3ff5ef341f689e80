/** Execution records in node:sqlite: written when an async invocation is accepted and when any invocation ends. */
import type { ExecutionRecord } from '../core/execution.ts';
import type { Database } from '../store/database.ts';

const MIGRATIONS = [
  `CREATE TABLE executions (
     id TEXT PRIMARY KEY,
     function_name TEXT NOT NULL,
     function_version INTEGER NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     record TEXT NOT NULL
   );
   CREATE INDEX executions_function ON executions (function_name, created_at);
   CREATE INDEX executions_status ON executions (status);`,
  // Pruning walks this index instead of sorting the table.
  'CREATE INDEX executions_created ON executions (created_at);',
];

export class ExecutionStore {
  readonly #db: Database;
  readonly #retention: number;
  #writesSincePrune = 0;
  readonly #upsert;
  readonly #get;

  constructor(db: Database, retention: number) {
    this.#db = db;
    this.#retention = retention;
    db.migrate('executions', MIGRATIONS);
    this.#upsert = db.db.prepare(
      `INSERT INTO executions (id, function_name, function_version, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record`,
    );
    this.#get = db.db.prepare('SELECT record FROM executions WHERE id = ?');
  }

  /** Records waiting for the next group commit, with their callers. */
  #batch: { record: ExecutionRecord; resolve: () => void; reject: (err: unknown) => void }[] = [];

  /**
   * Save on the next tick, in one transaction with every other record saved in this tick; resolves
   * once it is committed. Under load this turns a commit per invocation into one per tick.
   */
  saveSoon(record: ExecutionRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#batch.length === 0) setImmediate(() => this.#commitBatch());
      this.#batch.push({ record, resolve, reject });
    });
  }

  #commitBatch(): void {
    const batch = this.#batch;
    this.#batch = [];
    try {
      this.#db.transaction(() => {
        for (const { record } of batch) this.save(record);
      });
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    for (const item of batch) item.resolve();
  }

  save(record: ExecutionRecord): void {
    this.#upsert.run(
      record.id,
      record.function.name,
      record.function.version,
      record.status,
      record.timings.enqueuedAt,
      JSON.stringify(record),
    );
    if (++this.#writesSincePrune >= 1000) {
      this.#writesSincePrune = 0;
      this.prune();
    }
  }

  get(id: string): ExecutionRecord | undefined {
    const row = this.#get.get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as ExecutionRecord) : undefined;
  }

  /** Keep the newest `retention` records (by when they were submitted; an index walk, not a sort). */
  prune(): void {
    this.#db.db
      .prepare(
        'DELETE FROM executions WHERE created_at < (SELECT created_at FROM executions ORDER BY created_at DESC LIMIT 1 OFFSET ?)',
      )
      .run(this.#retention - 1);
  }

  /**
   * Records a previous run of the worker left queued or running (it crashed or was killed):
   * they will never finish, so they end as `killed`, and nothing is lost silently.
   */
  closeInterrupted(): number {
    const rows = this.#db.db.prepare("SELECT record FROM executions WHERE status IN ('queued', 'running')").all() as {
      record: string;
    }[];
    for (const row of rows) {
      const record = JSON.parse(row.record) as ExecutionRecord;
      record.status = 'killed';
      record.error = {
        code: 'interrupted',
        message: 'the worker stopped before this invocation finished; invoke it again',
      };
      record.timings.finishedAt = new Date().toISOString();
      this.save(record);
    }
    return rows.length;
  }
}
