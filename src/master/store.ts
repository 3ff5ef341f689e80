import type { StatementSync } from 'node:sqlite';
import type { Database } from '../store/database.ts';
import { isFinalTaskStatus, type TaskRow, type TaskStatus } from './types.ts';

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
];

export type StoreOutcome = 'accepted' | 'duplicate' | 'fenced' | 'unknown_task';

export interface StoredResult {
  taskId: string;
  attempt: number;
  epoch: number;
  workerId: string | null;
  status: TaskStatus;
  errorCode: string | null;
  errorMessage: string | null;
  recordJson: string | null;
}

interface RawTask {
  id: string;
  function_name: string;
  function_version: number;
  digest: string;
  runtime: string;
  input_json: string;
  priority: number;
  timeout_ms: number;
  labels: string;
  status: string;
  worker_id: string | null;
  attempt: number;
  epoch: number;
  cancel_requested: number;
  created_at: number;
  updated_at: number;
}

const toTask = (r: RawTask): TaskRow => ({
  id: r.id,
  functionName: r.function_name,
  functionVersion: r.function_version,
  digest: r.digest,
  runtime: r.runtime,
  inputJson: r.input_json,
  priority: r.priority,
  timeoutMs: r.timeout_ms,
  labels: JSON.parse(r.labels) as Record<string, string>,
  status: r.status as TaskStatus,
  workerId: r.worker_id,
  attempt: r.attempt,
  epoch: r.epoch,
  cancelRequested: r.cancel_requested === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The Master's durable state: tasks and their single stored result (node:sqlite). */
export class MasterStore {
  readonly #db: Database;
  readonly #s: Record<string, StatementSync>;

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
      dispatched: p(
        "UPDATE master_tasks SET status = 'dispatched', worker_id = ?, attempt = ?, epoch = ?, updated_at = ? WHERE id = ?",
      ),
      setStatus: p('UPDATE master_tasks SET status = ?, updated_at = ? WHERE id = ? AND epoch = ?'),
      requeue: p(
        "UPDATE master_tasks SET status = 'pending', worker_id = NULL, updated_at = ? WHERE id = ? AND epoch = ?",
      ),
      cancel: p('UPDATE master_tasks SET cancel_requested = 1, updated_at = ? WHERE id = ?'),
      finish: p('UPDATE master_tasks SET status = ?, updated_at = ? WHERE id = ?'),
      insertResult: p(
        `INSERT OR IGNORE INTO master_results (task_id, attempt, epoch, worker_id, status, error_code, error_message, record_json, stored_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      result: p('SELECT * FROM master_results WHERE task_id = ?'),
      unfinished: p("SELECT * FROM master_tasks WHERE status IN ('pending', 'dispatched', 'running')"),
      maxEpoch: p('SELECT COALESCE(MAX(epoch), 0) AS epoch FROM master_tasks'),
      countResults: p('SELECT COUNT(*) AS n FROM master_results'),
      countTasks: p('SELECT status, COUNT(*) AS n FROM master_tasks GROUP BY status'),
    };
  }

  insertTask(task: Omit<TaskRow, 'status' | 'workerId' | 'attempt' | 'epoch' | 'cancelRequested' | 'updatedAt'>): void {
    this.#s.insert!.run(
      task.id,
      task.functionName,
      task.functionVersion,
      task.digest,
      task.runtime,
      task.inputJson,
      task.priority,
      task.timeoutMs,
      JSON.stringify(task.labels),
      task.createdAt,
      task.createdAt,
    );
  }

  getTask(id: string): TaskRow | undefined {
    const row = this.#s.get!.get(id) as RawTask | undefined;
    return row ? toTask(row) : undefined;
  }

  markDispatched(id: string, workerId: string, attempt: number, epoch: number): void {
    this.#s.dispatched!.run(workerId, attempt, epoch, Date.now(), id);
  }

  markRunning(id: string, epoch: number): void {
    this.#s.setStatus!.run('running', Date.now(), id, epoch);
  }

  /** Back to pending (worker lost or refused); only if `epoch` is still the current one. */
  requeue(id: string, epoch: number): boolean {
    return Number(this.#s.requeue!.run(Date.now(), id, epoch).changes) > 0;
  }

  requestCancel(id: string): void {
    this.#s.cancel!.run(Date.now(), id);
  }

  /**
   * Store the one result of a task: accepted only for the current epoch of an unfinished task.
   * A second result for the same epoch is a duplicate; one for another epoch is fenced.
   */
  storeResult(result: StoredResult): StoreOutcome {
    return this.#tx(() => {
      const task = this.getTask(result.taskId);
      if (!task) return 'unknown_task';
      if (isFinalTaskStatus(task.status)) return task.epoch === result.epoch ? 'duplicate' : 'fenced';
      if (task.epoch !== result.epoch) return 'fenced';
      this.#insertResult(result);
      this.#s.finish!.run(result.status, Date.now(), result.taskId);
      return 'accepted';
    });
  }

  /** Finish a task without a worker result (cancelled while pending, attempts exhausted). */
  finishTask(task: TaskRow, status: TaskStatus, code: string, message: string): boolean {
    return this.#tx(() => {
      const current = this.getTask(task.id);
      if (!current || isFinalTaskStatus(current.status)) return false;
      this.#insertResult({
        taskId: task.id,
        attempt: current.attempt,
        epoch: current.epoch,
        workerId: current.workerId,
        status,
        errorCode: code,
        errorMessage: message,
        recordJson: null,
      });
      this.#s.finish!.run(status, Date.now(), task.id);
      return true;
    });
  }

  /** A transaction, or part of the caller's (the Master batches a round of writes in one). */
  #tx<T>(fn: () => T): T {
    return this.#db.db.isTransaction ? fn() : this.#db.transaction(fn);
  }

  /** Run `fn` in one transaction (one commit for many writes). */
  batch<T>(fn: () => T): T {
    return this.#tx(fn);
  }

  #insertResult(r: StoredResult): void {
    this.#s.insertResult!.run(
      r.taskId,
      r.attempt,
      r.epoch,
      r.workerId,
      r.status,
      r.errorCode,
      r.errorMessage,
      r.recordJson,
      Date.now(),
    );
  }

  getResult(taskId: string): StoredResult | undefined {
    const r = this.#s.result!.get(taskId) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    return {
      taskId: r.task_id as string,
      attempt: r.attempt as number,
      epoch: r.epoch as number,
      workerId: (r.worker_id as string | null) ?? null,
      status: r.status as TaskStatus,
      errorCode: (r.error_code as string | null) ?? null,
      errorMessage: (r.error_message as string | null) ?? null,
      recordJson: (r.record_json as string | null) ?? null,
    };
  }

  unfinishedTasks(): TaskRow[] {
    return (this.#s.unfinished!.all() as unknown as RawTask[]).map(toTask);
  }

  maxEpoch(): number {
    return (this.#s.maxEpoch!.get() as { epoch: number }).epoch;
  }

  countResults(): number {
    return (this.#s.countResults!.get() as { n: number }).n;
  }

  countByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const row of this.#s.countTasks!.all() as { status: string; n: number }[]) out[row.status] = row.n;
    return out;
  }
}
