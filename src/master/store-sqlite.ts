/**
 * The Master's store on embedded node:sqlite (the default: `npm run master` needs nothing else),
 * behind the same async interface as PostgreSQL (store-backend.ts). One Master owns the file, so
 * the epoch counter lives in memory (started from the largest stored epoch: epochs survive
 * restarts), the sweep lease is always this Master's, and "new tasks" wake only this process.
 * The rules are the same as on PostgreSQL, each inside one transaction: a claim hands an attempt
 * out once, a result is accepted only for the current epoch of an unfinished task, and
 * master_results.task_id is the primary key.
 * `*Now` methods answer synchronously (embedded only): tests and the sync task view use them.
 */
import { EventEmitter } from 'node:events';
import type { StatementSync } from 'node:sqlite';
import type { Database } from '../store/database.ts';
import { type ClaimWorker, fitsClaim } from './claim-filter.ts';
import type {
  MasterStoreBackend,
  NewTask,
  PublishedFunction,
  RemoteReply,
  RemoteRequest,
  SharedResult,
  SharedTask,
  SharedWorker,
  StoreOutcome,
} from './store-backend.ts';
import { type Row, resultOfRow, taskOfRow } from './store-rows.ts';
import { isFinalTaskStatus, type TaskStatus } from './types.ts';

const MIGRATIONS = [
  `CREATE TABLE master_tasks (
     id TEXT PRIMARY KEY,
     function_name TEXT NOT NULL,
     function_version INTEGER NOT NULL,
     digest TEXT NOT NULL,
     runtime TEXT NOT NULL,
     input_json TEXT NOT NULL,
     priority INTEGER NOT NULL,
     timeout_ms INTEGER NOT NULL,
     labels TEXT NOT NULL,
     status TEXT NOT NULL,
     worker_id TEXT,
     attempt INTEGER NOT NULL DEFAULT 0,
     epoch INTEGER NOT NULL DEFAULT 0,
     cancel_requested INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX master_tasks_status ON master_tasks(status);
   CREATE TABLE master_results (
     task_id TEXT PRIMARY KEY REFERENCES master_tasks(id),
     attempt INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     worker_id TEXT,
     status TEXT NOT NULL,
     error_code TEXT,
     error_message TEXT,
     record_json TEXT,
     stored_at INTEGER NOT NULL
   );`,
  // The same shape as on PostgreSQL: who dispatched, the worker registry, leases.
  `ALTER TABLE master_tasks ADD COLUMN master_id TEXT;
   CREATE INDEX master_tasks_pending ON master_tasks(priority DESC, created_at) WHERE status = 'pending';
   CREATE INDEX master_tasks_worker ON master_tasks(worker_id) WHERE status IN ('dispatched', 'running');
   CREATE TABLE master_workers (
     id TEXT PRIMARY KEY,
     master_id TEXT NOT NULL,
     status TEXT NOT NULL,
     last_seen_at INTEGER NOT NULL
   );
   CREATE TABLE master_leases (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );`,
];

export class SqliteMasterStore implements MasterStoreBackend {
  readonly kind = 'sqlite' as const;
  readonly #db: Database;
  readonly #s: Record<string, StatementSync>;
  readonly #wake = new EventEmitter();
  #epoch: number;

  constructor(db: Database) {
    this.#db = db;
    db.migrate('master', MIGRATIONS);
    const p = (sql: string) => db.db.prepare(sql);
    this.#s = {
      insert: p(
        `INSERT INTO master_tasks (id, function_name, function_version, digest, runtime, input_json, priority, timeout_ms, labels, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      ),
      get: p('SELECT * FROM master_tasks WHERE id = ?'),
      pending: p("SELECT * FROM master_tasks WHERE status = 'pending' ORDER BY priority DESC, created_at, id"),
      claim: p(
        "UPDATE master_tasks SET status = 'dispatched', worker_id = ?, master_id = ?, attempt = attempt + 1, epoch = ?, updated_at = ? WHERE id = ?",
      ),
      requeue: p(
        "UPDATE master_tasks SET status = 'pending', worker_id = NULL, updated_at = ?, attempt = MAX(0, attempt - ?) WHERE id = ? AND epoch = ? AND status IN ('dispatched', 'running')",
      ),
      ofWorker: p("SELECT * FROM master_tasks WHERE worker_id = ? AND status IN ('dispatched', 'running')"),
      toPending: p("UPDATE master_tasks SET status = 'pending', worker_id = NULL, updated_at = ? WHERE id = ?"),
      cancel: p('UPDATE master_tasks SET cancel_requested = 1, updated_at = ? WHERE id = ?'),
      finish: p('UPDATE master_tasks SET status = ?, updated_at = ? WHERE id = ?'),
      insertResult: p(
        `INSERT OR IGNORE INTO master_results (task_id, attempt, epoch, worker_id, status, error_code, error_message, record_json, stored_at)
         VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
      ),
      result: p('SELECT * FROM master_results WHERE task_id = ?'),
      maxEpoch: p('SELECT COALESCE(MAX(epoch), 0) AS epoch FROM master_tasks'),
      countResults: p('SELECT COUNT(*) AS n FROM master_results'),
      countPending: p("SELECT COUNT(*) AS n FROM master_tasks WHERE status = 'pending'"),
      countTasks: p('SELECT status, COUNT(*) AS n FROM master_tasks GROUP BY status'),
      seen: p(
        `INSERT INTO master_workers (id, master_id, status, last_seen_at) VALUES (?, ?, 'ok', ?)
         ON CONFLICT (id) DO UPDATE SET master_id = excluded.master_id, status = 'ok',
           last_seen_at = MAX(master_workers.last_seen_at, excluded.last_seen_at)`,
      ),
      workers: p('SELECT * FROM master_workers ORDER BY id'),
      workerRow: p('SELECT * FROM master_workers WHERE id = ?'),
      silent: p("SELECT id FROM master_workers WHERE status <> 'lost' AND last_seen_at < ?"),
      markLost: p("UPDATE master_workers SET status = 'lost' WHERE id = ?"),
      lease: p(
        `INSERT INTO master_leases (name, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
          WHERE master_leases.holder = excluded.holder OR master_leases.expires_at < ?`,
      ),
      leaseHolder: p('SELECT holder FROM master_leases WHERE name = ?'),
    };
    this.#epoch = (this.#s.maxEpoch!.get() as { epoch: number }).epoch;
  }

  async init(): Promise<void> {}

  /** A transaction, or part of the caller's. */
  #tx<T>(fn: () => T): T {
    return this.#db.db.isTransaction ? fn() : this.#db.transaction(fn);
  }

  /** Wake listeners after the commit (as NOTIFY does on PostgreSQL). */
  #notify(): void {
    queueMicrotask(() => this.#wake.emit('tasks'));
  }

  async insertTasks(tasks: NewTask[]): Promise<void> {
    if (tasks.length === 0) return;
    this.#tx(() => {
      for (const t of tasks)
        this.#s.insert!.run(
          t.id,
          t.functionName,
          t.functionVersion,
          t.digest,
          t.runtime,
          t.inputJson,
          t.priority,
          t.timeoutMs,
          JSON.stringify(t.labels),
          t.createdAt,
          t.createdAt,
        );
    });
    this.#notify();
  }

  async claim(worker: ClaimWorker, masterId: string, count: number): Promise<SharedTask[]> {
    if (count <= 0) return [];
    return this.#tx(() => {
      const now = Date.now();
      const out: SharedTask[] = [];
      for (const row of this.#s.pending!.iterate() as Iterable<Row>) {
        const task = taskOfRow(row);
        if (!fitsClaim(worker, task)) continue;
        this.#epoch += 1;
        this.#s.claim!.run(worker.id, masterId, this.#epoch, now, task.id);
        out.push({
          ...task,
          status: 'dispatched',
          workerId: worker.id,
          masterId,
          attempt: task.attempt + 1,
          epoch: String(this.#epoch),
          updatedAt: now,
        });
        if (out.length >= count) break;
      }
      return out;
    });
  }

  #storeIn(r: SharedResult): StoreOutcome {
    const row = this.#s.get!.get(r.taskId) as Row | undefined;
    if (!row) return 'unknown_task';
    const current = String(row.epoch);
    if (isFinalTaskStatus(row.status as TaskStatus)) return current === r.epoch ? 'duplicate' : 'fenced';
    if (current !== r.epoch) return 'fenced';
    const now = Date.now();
    const inserted = this.#s.insertResult!.run(
      r.taskId,
      r.attempt,
      Number(r.epoch),
      r.workerId,
      r.status,
      r.errorCode,
      r.recordJson,
      now,
    );
    if (Number(inserted.changes) === 0) return 'duplicate';
    this.#s.finish!.run(r.status, now, r.taskId);
    return 'accepted';
  }

  async storeResult(r: SharedResult): Promise<StoreOutcome> {
    return this.#tx(() => this.#storeIn(r));
  }

  async storeResults(results: SharedResult[]): Promise<StoreOutcome[]> {
    if (results.length === 0) return [];
    return this.#tx(() => results.map((r) => this.#storeIn(r)));
  }

  async requeueTask(taskId: string, epoch: string, refused = false): Promise<boolean> {
    const changed = Number(this.#s.requeue!.run(Date.now(), refused ? 1 : 0, taskId, Number(epoch)).changes) > 0;
    if (changed) this.#notify();
    return changed;
  }

  async reconcileWorker(
    workerId: string,
    held: { taskId: string; epoch: string }[],
    masterId?: string,
  ): Promise<{ requeued: string[]; current: SharedTask[]; stale: { taskId: string; epoch: string }[] }> {
    const keep = new Set(held.map((h) => `${h.taskId}:${h.epoch}`));
    const out = this.#tx(() => {
      if (masterId) this.#s.seen!.run(workerId, masterId, Date.now());
      const current: SharedTask[] = [];
      const requeued: string[] = [];
      for (const row of this.#s.ofWorker!.all(workerId) as Row[]) {
        const task = taskOfRow(row);
        if (keep.has(`${task.id}:${task.epoch}`)) current.push(task);
        else requeued.push(task.id);
      }
      const now = Date.now();
      for (const id of requeued) this.#s.toPending!.run(now, id);
      const adopted = new Set(current.map((t) => t.id));
      const stale = held.filter((h) => {
        if (adopted.has(h.taskId)) return false;
        const row = this.#s.get!.get(h.taskId) as Row | undefined;
        return row !== undefined && !isFinalTaskStatus(row.status as TaskStatus);
      });
      return { requeued, current, stale };
    });
    if (out.requeued.length > 0) this.#notify();
    return out;
  }

  async requeueWorker(workerId: string, ifMaster?: string): Promise<string[]> {
    const ids = this.#tx(() => {
      if (ifMaster !== undefined) {
        const w = this.#s.workerRow!.get(workerId) as Row | undefined;
        if (w && w.master_id !== ifMaster) return [];
      }
      const now = Date.now();
      const rows = this.#s.ofWorker!.all(workerId) as Row[];
      for (const r of rows) this.#s.toPending!.run(now, r.id as string);
      return rows.map((r) => r.id as string);
    });
    if (ids.length > 0) this.#notify();
    return ids;
  }

  async requestCancel(taskId: string): Promise<void> {
    this.#s.cancel!.run(Date.now(), taskId);
  }

  async getTask(id: string): Promise<SharedTask | undefined> {
    return this.taskNow(id);
  }

  async getResult(taskId: string): Promise<SharedResult | undefined> {
    return this.resultNow(taskId);
  }

  async countResults(): Promise<number> {
    return this.countResultsNow();
  }

  async countByStatus(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const row of this.#s.countTasks!.all() as { status: string; n: number }[]) out[row.status] = row.n;
    return out;
  }

  async seen(workerId: string, masterId: string, at: number): Promise<void> {
    this.#s.seen!.run(workerId, masterId, at);
  }

  async workers(): Promise<SharedWorker[]> {
    return (this.#s.workers!.all() as Row[]).map((r) => ({
      id: r.id as string,
      masterId: r.master_id as string,
      status: r.status as 'ok' | 'lost',
      lastSeenAt: r.last_seen_at as number,
    }));
  }

  async markSilentLost(now: number, timeoutMs: number): Promise<string[]> {
    return this.#tx(() => {
      const ids = (this.#s.silent!.all(now - timeoutMs) as Row[]).map((r) => r.id as string);
      for (const id of ids) this.#s.markLost!.run(id);
      return ids;
    });
  }

  async sweepSilent(now: number, timeoutMs: number): Promise<{ workerId: string; requeued: string[] }[]> {
    const out = this.#tx(() => {
      const ids = (this.#s.silent!.all(now - timeoutMs) as Row[]).map((r) => r.id as string);
      const t = Date.now();
      return ids.map((workerId) => {
        this.#s.markLost!.run(workerId);
        const rows = this.#s.ofWorker!.all(workerId) as Row[];
        for (const r of rows) this.#s.toPending!.run(t, r.id as string);
        return { workerId, requeued: rows.map((r) => r.id as string) };
      });
    });
    if (out.some((s) => s.requeued.length > 0)) this.#notify();
    return out;
  }

  async lease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    this.#s.lease!.run(name, holder, now + ttlMs, now);
    return (this.#s.leaseHolder!.get(name) as Row | undefined)?.holder === holder;
  }

  async onNewTasks(listener: () => void): Promise<() => Promise<void>> {
    this.#wake.on('tasks', listener);
    return async () => {
      this.#wake.off('tasks', listener);
    };
  }

  // One Master per file: a remote request can only be addressed to this process (in memory).
  async remoteRequest(request: RemoteRequest): Promise<void> {
    queueMicrotask(() => this.#wake.emit(`remote:${request.target}`, request));
  }

  async onRemoteRequest(masterId: string, listener: (request: RemoteRequest) => void): Promise<() => Promise<void>> {
    this.#wake.on(`remote:${masterId}`, listener);
    return async () => {
      this.#wake.off(`remote:${masterId}`, listener);
    };
  }

  async remoteReply(id: string, reply: RemoteReply): Promise<void> {
    queueMicrotask(() => this.#wake.emit('remote-reply', id, reply));
  }

  async onRemoteReply(
    wants: (id: string) => boolean,
    listener: (id: string, reply: RemoteReply) => void,
  ): Promise<() => Promise<void>> {
    const filtered = (id: string, reply: RemoteReply) => {
      if (wants(id)) listener(id, reply);
    };
    this.#wake.on('remote-reply', filtered);
    return async () => {
      this.#wake.off('remote-reply', filtered);
    };
  }

  // One Master per file: its catalogue is the only one.
  async publishFunction(): Promise<void> {}

  async functionsSince(): Promise<PublishedFunction[]> {
    return [];
  }

  async onFunctions(): Promise<() => Promise<void>> {
    return async () => {};
  }

  /** The database file is its owner's (the Master process) to close. */
  async close(): Promise<void> {}

  // ---- synchronous reads (embedded only) ------------------------------------------------------

  taskNow(id: string): SharedTask | undefined {
    const row = this.#s.get!.get(id) as Row | undefined;
    return row ? taskOfRow(row) : undefined;
  }

  resultNow(taskId: string): SharedResult | undefined {
    const r = this.#s.result!.get(taskId) as Row | undefined;
    return r ? resultOfRow(r) : undefined;
  }

  countResultsNow(): number {
    return (this.#s.countResults!.get() as { n: number }).n;
  }

  pendingNow(): number {
    return (this.#s.countPending!.get() as { n: number }).n;
  }
}
