/**
 * Execution records in node:sqlite: written when an async invocation is accepted and when any
 * invocation ends. Each record is serialised on its own before it joins a group commit, so a
 * record that cannot be serialised, or a row the database refuses, fails alone and never takes
 * the other records of its batch with it.
 */
import type { ExecutionRecord } from '../core/execution.ts';
import type { Database } from '../store/database.ts';

interface Row {
  record: ExecutionRecord;
  json: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The executions table's migration steps, in order (exported for the migration test). */
export const EXECUTION_MIGRATIONS = [
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
  // GET /v1/executions (newest first, filtered, cursor-paged): each filter walks an index in order.
  `CREATE INDEX executions_created_id ON executions (created_at, id);
   CREATE INDEX executions_status_created ON executions (status, created_at, id);
   CREATE INDEX executions_tier_created ON executions (json_extract(record, '$.tier'), created_at, id);`,
  // Fewer b-trees per insert (the group commit writes every index a record touches): the tier is a
  // column (its expression index parsed each record's JSON on insert), and the two indexes that
  // are leading prefixes of others go.
  `ALTER TABLE executions ADD COLUMN tier TEXT;
   UPDATE executions SET tier = json_extract(record, '$.tier');
   DROP INDEX executions_tier_created;
   CREATE INDEX executions_tier_created ON executions (tier, created_at, id);
   DROP INDEX executions_status;
   DROP INDEX executions_created;`,
];

/** A page of GET /v1/executions: filters, a size, and the (createdAt, id) the previous page ended at. */
export interface ExecutionQuery {
  function?: string;
  status?: string;
  tier?: string;
  /** ISO times, inclusive, on when the invocation was submitted. */
  since?: string;
  until?: string;
  limit: number;
  after?: { createdAt: string; id: string };
  /** Only this tenant's records (records from before tenants, with none, are `default`'s). */
  tenant?: string;
}

export class ExecutionStore {
  readonly #db: Database;
  readonly #retention: number;
  #writesSincePrune = 0;
  readonly #upsert;
  readonly #get;

  constructor(db: Database, retention: number) {
    this.#db = db;
    this.#retention = retention;
    db.migrate('executions', EXECUTION_MIGRATIONS);
    this.#upsert = db.db.prepare(
      `INSERT INTO executions (id, function_name, function_version, status, created_at, tier, record) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, tier = excluded.tier, record = excluded.record`,
    );
    this.#get = db.db.prepare('SELECT record FROM executions WHERE id = ?');
  }

  /** Records waiting for the next group commit (already serialised), with their callers. */
  #batch: Row[] = [];

  /**
   * Save on the next tick, in one transaction with every other record saved in this tick; resolves
   * once it is committed. Under load this turns a commit per invocation into one per tick.
   * `json` is the record's text when the caller sealed it already (src/executor/record-seal.ts);
   * otherwise it is serialised here, now, and a failure rejects this call alone.
   */
  saveSoon(record: ExecutionRecord, json?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let text: string;
      try {
        text = json ?? JSON.stringify(record);
      } catch (err) {
        reject(err);
        return;
      }
      if (this.#batch.length === 0) setImmediate(() => this.#commitBatch());
      this.#batch.push({ record, json: text, resolve, reject });
    });
  }

  #commitBatch(): void {
    const batch = this.#batch;
    this.#batch = [];
    try {
      this.#db.transaction(() => {
        for (const row of batch) this.#write(row.record, row.json);
      });
    } catch {
      // One row the database refused must not lose the others: write each on its own.
      for (const row of batch) {
        try {
          this.#write(row.record, row.json);
          row.resolve();
        } catch (err) {
          row.reject(err);
        }
      }
      return;
    }
    for (const row of batch) row.resolve();
  }

  /** Save now (a record that never ran, or one accepted for async). */
  save(record: ExecutionRecord, json?: string): void {
    this.#write(record, json ?? JSON.stringify(record));
  }

  #write(record: ExecutionRecord, json: string): void {
    this.#upsert.run(
      record.id,
      record.function.name,
      record.function.version,
      record.status,
      record.timings.enqueuedAt,
      record.tier ?? null,
      json,
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

  /** Records newest first (submitted time, then id), filtered; at most `query.limit`. */
  list(query: ExecutionQuery): ExecutionRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (clause: string, ...values: string[]) => {
      where.push(clause);
      args.push(...values);
    };
    if (query.function !== undefined) add('function_name = ?', query.function);
    if (query.status !== undefined) add('status = ?', query.status);
    if (query.tenant !== undefined)
      add(
        query.tenant === 'default'
          ? "coalesce(json_extract(record, '$.tenant'), 'default') = ?"
          : "json_extract(record, '$.tenant') = ?",
        query.tenant,
      );
    if (query.tier !== undefined) add('tier = ?', query.tier);
    if (query.since !== undefined) add('created_at >= ?', query.since);
    if (query.until !== undefined) add('created_at <= ?', query.until);
    if (query.after) {
      const { createdAt, id } = query.after;
      add('(created_at < ? OR (created_at = ? AND id < ?))', createdAt, createdAt, id);
    }
    const sql = `SELECT record FROM executions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.#db.db.prepare(sql).all(...args, query.limit) as { record: string }[];
    return rows.map((row) => JSON.parse(row.record) as ExecutionRecord);
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
      const at = new Date().toISOString();
      record.timings.finishedAt = at;
      record.death = { cause: 'cancel', at, usage: record.usage };
      this.save(record);
    }
    return rows.length;
  }
}
