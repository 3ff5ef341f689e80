/**
 * The Master's shared store on PostgreSQL (the `postgres` client, with its connection pool).
 * - Epochs come from one sequence (bigint, read back as text: exact above 2^53).
 * - A claim is `FOR UPDATE SKIP LOCKED` inside its UPDATE: two Masters never dispatch one attempt.
 * - A result is stored in a transaction that locks the task row: the epoch fence and the
 *   one-result rule (master_results.task_id is the primary key) are the database's.
 * - New tasks NOTIFY `strata_master_tasks` in the inserting transaction: Masters LISTEN, no polling.
 * - Leases (the sweep of silent workers) are rows with an expiry, taken with one upsert.
 */
import postgres from 'postgres';
import { type ClaimWorker, claimRuntimes } from './claim-filter.ts';
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
import { resultOfRow, taskOfRow } from './store-rows.ts';
import { isFinalTaskStatus, type TaskStatus, type WorkerView } from './types.ts';

const CHANNEL = 'strata_master_tasks';

/** Applied in order, each once, under an advisory lock (Masters starting together do not race). */
const MIGRATIONS = [
  `CREATE SEQUENCE IF NOT EXISTS master_epoch AS bigint START 1;
   CREATE TABLE IF NOT EXISTS master_tasks (
     id text PRIMARY KEY,
     function_name text NOT NULL,
     function_version integer NOT NULL,
     digest text NOT NULL,
     runtime text NOT NULL,
     input_json text NOT NULL,
     priority integer NOT NULL,
     timeout_ms integer NOT NULL,
     labels jsonb NOT NULL,
     status text NOT NULL,
     worker_id text,
     master_id text,
     attempt integer NOT NULL DEFAULT 0,
     epoch bigint NOT NULL DEFAULT 0,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL
   );
   CREATE INDEX IF NOT EXISTS master_tasks_pending ON master_tasks (priority DESC, created_at) WHERE status = 'pending';
   CREATE INDEX IF NOT EXISTS master_tasks_worker ON master_tasks (worker_id) WHERE status IN ('dispatched', 'running');
   CREATE TABLE IF NOT EXISTS master_results (
     task_id text PRIMARY KEY REFERENCES master_tasks(id),
     attempt integer NOT NULL,
     epoch bigint NOT NULL,
     worker_id text,
     status text NOT NULL,
     error_code text,
     record_json text,
     stored_at bigint NOT NULL
   );
   CREATE TABLE IF NOT EXISTS master_workers (
     id text PRIMARY KEY,
     master_id text NOT NULL,
     status text NOT NULL,
     last_seen_at bigint NOT NULL
   );
   CREATE TABLE IF NOT EXISTS master_leases (
     name text PRIMARY KEY,
     holder text NOT NULL,
     expires_at bigint NOT NULL
   );`,
  `ALTER TABLE master_tasks ADD COLUMN IF NOT EXISTS cancel_requested boolean NOT NULL DEFAULT false;`,
  // Controls of a running task asked through another Master than the one holding its worker.
  `CREATE TABLE IF NOT EXISTS master_remote (
     id text PRIMARY KEY,
     task_id text NOT NULL,
     action text NOT NULL,
     target text NOT NULL,
     requested_by text NOT NULL,
     created_at bigint NOT NULL,
     taken_at bigint,
     reply_ok boolean,
     reply_code text,
     reply_message text,
     replied_at bigint
   );
   CREATE INDEX IF NOT EXISTS master_remote_open ON master_remote (target) WHERE taken_at IS NULL;`,
  // The catalogue shared by deploy: each Master replays every deploy into its own registry.
  `CREATE TABLE IF NOT EXISTS master_functions (
     seq bigserial PRIMARY KEY,
     manifest_json text NOT NULL,
     code bytea NOT NULL,
     tenant text,
     published_at bigint NOT NULL
   );`,
  // A deploy's signature travels with it, so every Master sends it with the artifact.
  `ALTER TABLE master_functions ADD COLUMN IF NOT EXISTS signature text;`,
  // What the holding Master last saw of each worker (its WorkerView), for GET /v1/workers anywhere.
  `ALTER TABLE master_workers ADD COLUMN IF NOT EXISTS view_json text;`,
];

const REMOTE = 'strata_master_remote';
const FUNCTIONS = 'strata_master_functions';
const REMOTE_REPLY = 'strata_master_remote_reply';

/** One result inside the caller's transaction: the epoch fence, then the primary key. */
async function storeIn(tx: postgres.TransactionSql, r: SharedResult): Promise<StoreOutcome> {
  const [task] = await tx`SELECT status, epoch FROM master_tasks WHERE id = ${r.taskId} FOR UPDATE`;
  if (!task) return 'unknown_task';
  const current = String(task.epoch);
  if (isFinalTaskStatus(task.status as TaskStatus)) return current === r.epoch ? 'duplicate' : 'fenced';
  if (current !== r.epoch) return 'fenced';
  const now = Date.now();
  // The primary key is the last word: a second result for the task cannot be inserted.
  const inserted = await tx`
    INSERT INTO master_results (task_id, attempt, epoch, worker_id, status, error_code, record_json, stored_at)
    VALUES (${r.taskId}, ${r.attempt}, ${r.epoch}, ${r.workerId}, ${r.status}, ${r.errorCode}, ${r.recordJson}, ${now})
    ON CONFLICT (task_id) DO NOTHING RETURNING task_id`;
  if (inserted.length === 0) return 'duplicate';
  await tx`UPDATE master_tasks SET status = ${r.status}, updated_at = ${now} WHERE id = ${r.taskId}`;
  return 'accepted';
}

/** The worker registry: `workerId` seen by `masterId` at `at` (never moves last_seen back). */
async function upsertSeen(sql: postgres.Sql | postgres.TransactionSql, workerId: string, masterId: string, at: number) {
  await sql`
    INSERT INTO master_workers (id, master_id, status, last_seen_at) VALUES (${workerId}, ${masterId}, 'ok', ${at})
    ON CONFLICT (id) DO UPDATE SET master_id = EXCLUDED.master_id, status = 'ok',
      last_seen_at = GREATEST(master_workers.last_seen_at, EXCLUDED.last_seen_at)`;
}

export interface PostgresStoreOptions {
  url: string;
  /** Pool size (default 10). */
  max?: number;
}

export class PostgresMasterStore implements MasterStoreBackend {
  readonly kind = 'postgres' as const;
  readonly #sql: postgres.Sql;

  constructor(options: PostgresStoreOptions) {
    this.#sql = postgres(options.url, {
      max: options.max ?? 10,
      onnotice: () => {},
      // bigint as text (the driver's default for int8): epochs are exact.
      types: {},
    });
  }

  async init(): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(7470001)`;
      await tx`CREATE TABLE IF NOT EXISTS master_migrations (version integer PRIMARY KEY)`;
      const done = new Set((await tx`SELECT version FROM master_migrations`).map((r) => r.version as number));
      for (const [i, sql] of MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await tx.unsafe(sql);
        await tx`INSERT INTO master_migrations (version) VALUES (${i + 1})`;
      }
    });
  }

  async insertTasks(tasks: NewTask[]): Promise<void> {
    if (tasks.length === 0) return;
    await this.#sql.begin(async (tx) => {
      const rows = tasks.map((t) => ({
        id: t.id,
        function_name: t.functionName,
        function_version: t.functionVersion,
        digest: t.digest,
        runtime: t.runtime,
        input_json: t.inputJson,
        priority: t.priority,
        timeout_ms: t.timeoutMs,
        labels: JSON.stringify(t.labels),
        status: 'pending',
        created_at: t.createdAt,
        updated_at: t.createdAt,
      }));
      // Bounded statements: the parameter limit is 65535.
      for (let i = 0; i < rows.length; i += 1000) {
        const slice = rows.slice(i, i + 1000);
        await tx`INSERT INTO master_tasks ${tx(slice)}`;
      }
      // Delivered at commit, to every Master listening (this one included).
      await tx`SELECT pg_notify(${CHANNEL}, ${String(tasks.length)})`;
    });
  }

  async claim(worker: ClaimWorker, masterId: string, count: number): Promise<SharedTask[]> {
    if (count <= 0) return [];
    const now = Date.now();
    // The placement inputs, in the claim's own statement: the task's labels are the worker's,
    // its runtime has a tier there (or needs none / is unknown to the table).
    const runtimes = claimRuntimes(worker);
    const anyRuntime = runtimes === null;
    const sql = this.#sql;
    // Only while the registry has the worker on this Master, and with its row locked: a worker
    // that re-registered with another Master (whose reconcile locks and moves the row) gets no
    // claim from here that its new Master did not see. (A claim sent just before this Master died
    // still commits; without this it stranded a task on a worker that never got it.)
    const rows = await sql`
      WITH owner AS (
        SELECT master_id FROM master_workers WHERE id = ${worker.id} FOR SHARE
      ), picked AS (
        SELECT id FROM master_tasks WHERE status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM owner WHERE owner.master_id <> ${masterId})
          AND labels <@ ${JSON.stringify(worker.labels)}::jsonb
          AND (${anyRuntime}::boolean OR runtime = ANY(${sql.array(runtimes?.fitting ?? [])}::text[])
               OR NOT runtime = ANY(${sql.array(runtimes?.known ?? [])}::text[]))
        ORDER BY priority DESC, created_at, id
        LIMIT ${count}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE master_tasks t
         SET status = 'dispatched', worker_id = ${worker.id}, master_id = ${masterId},
             attempt = t.attempt + 1, epoch = nextval('master_epoch'), updated_at = ${now}
        FROM picked WHERE t.id = picked.id
      RETURNING t.*`;
    return rows.map(taskOfRow).sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt);
  }

  async requestCancel(taskId: string): Promise<void> {
    await this.#sql`UPDATE master_tasks SET cancel_requested = true, updated_at = ${Date.now()} WHERE id = ${taskId}`;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.#sql`SELECT status, COUNT(*)::int AS n FROM master_tasks GROUP BY status`;
    return Object.fromEntries(rows.map((r) => [r.status as string, r.n as number]));
  }

  async storeResult(r: SharedResult): Promise<StoreOutcome> {
    return (await this.storeResults([r]))[0] as StoreOutcome;
  }

  async storeResults(results: SharedResult[]): Promise<StoreOutcome[]> {
    if (results.length === 0) return [];
    // Rows locked in task id order: two Masters storing overlapping batches cannot deadlock.
    const order = results
      .map((_, i) => i)
      .sort((x, y) => ((results[x] as SharedResult).taskId < (results[y] as SharedResult).taskId ? -1 : 1));
    return this.#sql.begin(async (tx) => {
      const out: StoreOutcome[] = new Array(results.length);
      for (const i of order) out[i] = await storeIn(tx, results[i] as SharedResult);
      return out;
    }) as Promise<StoreOutcome[]>;
  }

  async requeueWorker(workerId: string, ifMaster?: string): Promise<string[]> {
    // Rows locked in task id order, like every other multi-row lock here (storeResults,
    // reconcileWorker, sweepSilent): two of them never deadlock.
    const rows = await this.#sql`
      WITH t AS (
        SELECT id FROM master_tasks
         WHERE worker_id = ${workerId} AND status IN ('dispatched', 'running')
           AND (${ifMaster ?? null}::text IS NULL
                OR EXISTS (SELECT 1 FROM master_workers w WHERE w.id = ${workerId} AND w.master_id = ${ifMaster ?? null}))
         ORDER BY id FOR UPDATE
      )
      UPDATE master_tasks m SET status = 'pending', worker_id = NULL, updated_at = ${Date.now()}
        FROM t WHERE m.id = t.id
      RETURNING m.id`;
    if (rows.length > 0) await this.#sql`SELECT pg_notify(${CHANNEL}, ${String(rows.length)})`;
    return rows.map((r) => r.id as string);
  }

  async requeueTask(taskId: string, epoch: string, refused = false): Promise<boolean> {
    const rows = await this.#sql`
      UPDATE master_tasks SET status = 'pending', worker_id = NULL, updated_at = ${Date.now()},
             attempt = CASE WHEN ${refused}::boolean THEN GREATEST(0, attempt - 1) ELSE attempt END
       WHERE id = ${taskId} AND epoch = ${epoch} AND status IN ('dispatched', 'running')
      RETURNING id`;
    if (rows.length > 0) await this.#sql`SELECT pg_notify(${CHANNEL}, '1')`;
    return rows.length > 0;
  }

  async reconcileWorker(
    workerId: string,
    held: { taskId: string; epoch: string }[],
    masterId?: string,
  ): Promise<{ requeued: string[]; current: SharedTask[]; stale: { taskId: string; epoch: string }[] }> {
    const keep = new Set(held.map((h) => `${h.taskId}:${h.epoch}`));
    return this.#sql.begin(async (tx) => {
      // The registry row first: it is locked until commit, so a concurrent sweep of silent workers
      // (sweepSilent) either ran before (and this sees its requeues) or sees the worker fresh.
      if (masterId) await upsertSeen(tx, workerId, masterId, Date.now());
      const rows = await tx`
        SELECT * FROM master_tasks WHERE worker_id = ${workerId} AND status IN ('dispatched', 'running')
         ORDER BY id FOR UPDATE`;
      const current: SharedTask[] = [];
      const requeued: string[] = [];
      for (const row of rows) {
        const task = taskOfRow(row);
        if (keep.has(`${task.id}:${task.epoch}`)) current.push(task);
        else requeued.push(task.id);
      }
      // Adopted attempts are this Master's now: controls asked elsewhere are routed here.
      if (masterId && current.length > 0)
        await tx`UPDATE master_tasks SET master_id = ${masterId} WHERE id IN ${tx(current.map((t) => t.id))}`;
      if (requeued.length > 0) {
        await tx`UPDATE master_tasks SET status = 'pending', worker_id = NULL, updated_at = ${Date.now()}
                  WHERE id IN ${tx(requeued)}`;
        await tx`SELECT pg_notify(${CHANNEL}, ${String(requeued.length)})`;
      }
      // Held attempts the database gave up meanwhile (requeued or re-dispatched, still unfinished):
      // the worker must stop them, or the task runs twice.
      const adopted = new Set(current.map((t) => t.id));
      const others = held.filter((h) => !adopted.has(h.taskId)).map((h) => h.taskId);
      const stale: { taskId: string; epoch: string }[] = [];
      if (others.length > 0) {
        const unfinished = new Set(
          (
            await tx`SELECT id FROM master_tasks WHERE id IN ${tx(others)} AND status IN ('pending', 'dispatched', 'running')`
          ).map((r) => r.id as string),
        );
        for (const h of held) if (unfinished.has(h.taskId) && !adopted.has(h.taskId)) stale.push(h);
      }
      return { requeued, current, stale };
    }) as Promise<{ requeued: string[]; current: SharedTask[]; stale: { taskId: string; epoch: string }[] }>;
  }

  async sweepSilent(now: number, timeoutMs: number): Promise<{ workerId: string; requeued: string[] }[]> {
    return this.#sql.begin(async (tx) => {
      // One transaction: the workers marked lost stay locked until their tasks are requeued, so a
      // worker re-registering meanwhile (reconcileWorker) is either swept before or not at all.
      const lost = (
        await tx`UPDATE master_workers SET status = 'lost'
                  WHERE status <> 'lost' AND last_seen_at < ${now - timeoutMs} RETURNING id`
      ).map((r) => r.id as string);
      if (lost.length === 0) return [];
      const rows = await tx`
        WITH t AS (
          SELECT id, worker_id FROM master_tasks
           WHERE worker_id IN ${tx(lost)} AND status IN ('dispatched', 'running') ORDER BY id FOR UPDATE
        )
        UPDATE master_tasks m SET status = 'pending', worker_id = NULL, updated_at = ${Date.now()}
          FROM t WHERE m.id = t.id
        RETURNING m.id, t.worker_id`;
      if (rows.length > 0) await tx`SELECT pg_notify(${CHANNEL}, ${String(rows.length)})`;
      return lost.map((workerId) => ({
        workerId,
        requeued: rows.filter((r) => r.worker_id === workerId).map((r) => r.id as string),
      }));
    }) as Promise<{ workerId: string; requeued: string[] }[]>;
  }

  async getTask(id: string): Promise<SharedTask | undefined> {
    const [row] = await this.#sql`SELECT * FROM master_tasks WHERE id = ${id}`;
    return row ? taskOfRow(row) : undefined;
  }

  async getResult(taskId: string): Promise<SharedResult | undefined> {
    const [r] = await this.#sql`SELECT * FROM master_results WHERE task_id = ${taskId}`;
    return r ? resultOfRow(r) : undefined;
  }

  async countResults(): Promise<number> {
    const [r] = await this.#sql`SELECT COUNT(*)::int AS n FROM master_results`;
    return (r?.n as number) ?? 0;
  }

  async seen(workerId: string, masterId: string, at: number, viewJson?: string): Promise<void> {
    if (viewJson === undefined) return upsertSeen(this.#sql, workerId, masterId, at);
    await this.#sql`
      INSERT INTO master_workers (id, master_id, status, last_seen_at, view_json)
      VALUES (${workerId}, ${masterId}, 'ok', ${at}, ${viewJson})
      ON CONFLICT (id) DO UPDATE SET master_id = EXCLUDED.master_id, status = 'ok',
        last_seen_at = GREATEST(master_workers.last_seen_at, EXCLUDED.last_seen_at), view_json = EXCLUDED.view_json`;
  }

  async workers(): Promise<SharedWorker[]> {
    const rows = await this.#sql`SELECT * FROM master_workers ORDER BY id`;
    return rows.map((r) => ({
      id: r.id as string,
      masterId: r.master_id as string,
      status: r.status as 'ok' | 'lost',
      lastSeenAt: Number(r.last_seen_at),
      ...(typeof r.view_json === 'string' ? { view: JSON.parse(r.view_json) as WorkerView } : {}),
    }));
  }

  async markSilentLost(now: number, timeoutMs: number): Promise<string[]> {
    const rows = await this.#sql`
      UPDATE master_workers SET status = 'lost'
       WHERE status <> 'lost' AND last_seen_at < ${now - timeoutMs}
      RETURNING id`;
    return rows.map((r) => r.id as string);
  }

  async lease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const rows = await this.#sql`
      INSERT INTO master_leases (name, holder, expires_at) VALUES (${name}, ${holder}, ${now + ttlMs})
      ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE master_leases.holder = EXCLUDED.holder OR master_leases.expires_at < ${now}
      RETURNING holder`;
    return rows.length === 1;
  }

  async remoteRequest(request: RemoteRequest): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx`
        INSERT INTO master_remote (id, task_id, action, target, requested_by, created_at)
        VALUES (${request.id}, ${request.taskId}, ${request.action}, ${request.target}, ${request.from}, ${Date.now()})`;
      // Delivered at commit: the row is there when the target reads it.
      await tx`SELECT pg_notify(${REMOTE}, ${request.target})`;
    });
  }

  async onRemoteRequest(masterId: string, listener: (request: RemoteRequest) => void): Promise<() => Promise<void>> {
    // Each open row is taken once (taken_at), whichever wake-up reads it first.
    const take = async () => {
      const rows = await this.#sql`
        UPDATE master_remote SET taken_at = ${Date.now()}
         WHERE target = ${masterId} AND taken_at IS NULL
        RETURNING id, task_id, action, target, requested_by`;
      for (const r of rows)
        listener({
          id: r.id as string,
          taskId: r.task_id as string,
          action: r.action as RemoteRequest['action'],
          target: r.target as string,
          from: r.requested_by as string,
        });
    };
    const request = await this.#sql.listen(REMOTE, (target) => {
      if (target === masterId) void take().catch(() => {});
    });
    // Requests made while this Master was not listening (it just started).
    await take();
    return () => request.unlisten();
  }

  async remoteReply(id: string, reply: RemoteReply): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx`UPDATE master_remote SET reply_ok = ${reply.ok}, reply_code = ${reply.code},
                 reply_message = ${reply.message}, replied_at = ${Date.now()} WHERE id = ${id}`;
      await tx`SELECT pg_notify(${REMOTE_REPLY}, ${id})`;
    });
  }

  async onRemoteReply(
    wants: (id: string) => boolean,
    listener: (id: string, reply: RemoteReply) => void,
  ): Promise<() => Promise<void>> {
    const request = await this.#sql.listen(REMOTE_REPLY, (id) => {
      if (!wants(id)) return;
      void this.#sql`SELECT reply_ok, reply_code, reply_message FROM master_remote WHERE id = ${id}`
        .then(([r]) => {
          if (r && r.reply_ok !== null)
            listener(id, {
              ok: r.reply_ok as boolean,
              code: r.reply_code as string,
              message: r.reply_message as string,
            });
        })
        .catch(() => {});
    });
    return () => request.unlisten();
  }

  async publishFunction(
    manifestJson: string,
    code: Uint8Array,
    tenant: string | null,
    signatureJson: string | null = null,
  ): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx`INSERT INTO master_functions (manifest_json, code, tenant, published_at, signature)
               VALUES (${manifestJson}, ${Buffer.from(code)}, ${tenant}, ${Date.now()}, ${signatureJson})`;
      await tx`SELECT pg_notify(${FUNCTIONS}, '')`;
    });
  }

  async functionsSince(seq: number): Promise<PublishedFunction[]> {
    const rows = await this
      .#sql`SELECT seq, manifest_json, code, tenant, signature FROM master_functions WHERE seq > ${seq} ORDER BY seq`;
    return rows.map((r) => ({
      seq: Number(r.seq),
      manifestJson: r.manifest_json as string,
      code: new Uint8Array(r.code as Buffer),
      tenant: (r.tenant as string | null) ?? null,
      signatureJson: (r.signature as string | null) ?? null,
    }));
  }

  async onFunctions(listener: () => void): Promise<() => Promise<void>> {
    const request = await this.#sql.listen(FUNCTIONS, () => listener());
    return () => request.unlisten();
  }

  async onNewTasks(listener: () => void): Promise<() => Promise<void>> {
    const request = await this.#sql.listen(CHANNEL, () => listener());
    return () => request.unlisten();
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
