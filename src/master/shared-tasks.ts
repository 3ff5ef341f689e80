/**
 * The Master's task flow over its store (either implementation of store-backend.ts): the store,
 * not this Master's memory, owns the queue, the claim of each attempt, the epoch and the one
 * result per task, so on PostgreSQL several Masters run side by side. This Master keeps in memory
 * only the attempts it dispatched (or adopted from a worker that registered holding them), for
 * task state, logs and controls. New tasks wake it (LISTEN/NOTIFY on PostgreSQL); silent workers
 * of a dead Master are swept by the one Master that holds the sweep lease.
 */
import { u64Number } from '../protocol/uint64.ts';
import type { ControlAction } from './control.ts';
import type { MasterStoreBackend, NewTask, SharedTask, StoredResult, StoreOutcome } from './store-backend.ts';
import { resultFields, viewOf } from './task-view.ts';
import { isFinalTaskStatus, type TaskRow, type TaskStatus, type TaskView } from './types.ts';
import type { WorkerState } from './worker-state.ts';

/** What SharedTasks needs of its MasterCore (a narrow interface, not the whole class). */
export interface SharedHost {
  readonly masterId: string;
  readonly config: { heartbeatTimeout: number; maxAttempts: number };
  readonly live: Map<string, TaskRow>;
  readonly workers: Map<string, WorkerState>;
  duplicateResults: number;
  fencedResults: number;
  readonly log: {
    warn(obj: object, msg?: string): void;
    info(obj: object, msg?: string): void;
    debug(obj: object, msg?: string): void;
  };
  sendDispatch(task: TaskRow, worker: WorkerState): void;
  settled(worker: WorkerState | undefined, result: StoredResult): void;
  finish(task: TaskRow, status: TaskStatus, code: string, message: string): Promise<boolean>;
  pump(): void;
  canTake(worker: WorkerState, now: number): number;
  control(workerId: string, action: ControlAction): Promise<unknown>;
}

const SWEEP_LEASE = 'sweep';
/** Retries of a batch of results the store refused to commit (50 ms doubling: ~3 s in all). */
const STORE_RETRIES = 6;

export const rowOf = (t: SharedTask): TaskRow => ({
  ...t,
  epoch: u64Number(t.epoch, 'epoch'),
});

/** Least loaded first: ok before degraded, then by share of slots in use. */
const loadScore = (w: WorkerState) => (w.status === 'degraded' ? 1000 : 0) + w.assigned / Math.max(1, w.concurrency);

export class SharedTasks {
  readonly backend: MasterStoreBackend;
  readonly #host: SharedHost;
  readonly #claiming = new Set<string>();
  #inserts: NewTask[] = [];
  #insertDone: Promise<void> | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #lastTick = 0;
  #stopped = false;
  /** Whether this Master holds the sweep lease now (for tests and /metrics). */
  sweeper = false;

  constructor(backend: MasterStoreBackend, host: SharedHost) {
    this.backend = backend;
    this.#host = host;
  }

  async start(): Promise<void> {
    this.#unlisten = await this.backend.onNewTasks(() => this.#host.pump());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#unlisten?.().catch(() => {});
  }

  /** Queue a new task for one insert with the others of this turn; `flushed()` waits for the commit. */
  insert(task: NewTask): void {
    this.#inserts.push(task);
    this.#insertDone ??= new Promise<void>((resolve, reject) =>
      queueMicrotask(() => {
        const batch = this.#inserts;
        this.#inserts = [];
        this.#insertDone = undefined;
        this.backend.insertTasks(batch).then(resolve, reject);
      }),
    );
  }

  /** Resolves once every task inserted so far is committed (then any Master may dispatch it). */
  async flushed(): Promise<void> {
    await this.#insertDone;
  }

  /** Claim pending tasks for every worker with room; one claim in flight per worker. */
  place(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const ready = [...this.#host.workers.values()]
      .filter((w) => !this.#claiming.has(w.id) && this.#host.canTake(w, now) > 0)
      .sort((x, y) => loadScore(x) - loadScore(y));
    for (const w of ready) {
      const room = this.#host.canTake(w, now);
      this.#claiming.add(w.id);
      this.backend
        .claim(w, this.#host.masterId, Math.min(room, 256))
        .then((claimed) => {
          this.#claiming.delete(w.id);
          for (const t of claimed) this.#dispatch(t, w);
          if (claimed.length > 0) this.#host.pump();
        })
        .catch((err: Error) => {
          this.#claiming.delete(w.id);
          if (!this.#stopped) this.#host.log.warn({ err: err.message }, 'claim failed');
        });
    }
  }

  #dispatch(claimed: SharedTask, w: WorkerState): void {
    const task = rowOf(claimed);
    if (task.attempt > this.#host.config.maxAttempts) {
      void this.#host.finish(
        task,
        'lost',
        'worker_lost',
        `the task was lost on ${task.attempt - 1} workers; giving up`,
      );
      return;
    }
    if (task.cancelRequested) {
      void this.#host.finish(task, 'killed', 'cancelled', 'cancelled; its worker went away');
      return;
    }
    // Claimed for a worker that went away meanwhile: back to the queue for anyone.
    if (!w.connected || w.status === 'lost') {
      void this.backend.requeueTask(task.id, claimed.epoch);
      return;
    }
    this.#host.live.set(task.id, task);
    w.tasks.add(task.id);
    // Who dispatched which attempt: the trail to read when a task ran twice.
    this.#host.log.debug(
      { taskId: task.id, attempt: task.attempt, epoch: claimed.epoch, workerId: w.id },
      'dispatched',
    );
    if (w.mode === 'pull') w.pullBudget = Math.max(0, w.pullBudget - 1);
    this.#host.sendDispatch(task, w);
  }

  /** Store results in the database (the fence and the one-result rule are its); ack after commit. */
  async store(
    batch: { worker: WorkerState | undefined; result: StoredResult; done: (o: StoreOutcome) => void }[],
    tries = 0,
  ): Promise<void> {
    let outcomes: StoreOutcome[];
    try {
      outcomes = await this.backend.storeResults(
        batch.map(({ result }) => ({
          taskId: result.taskId,
          attempt: result.attempt,
          epoch: String(result.epoch),
          workerId: result.workerId,
          status: result.status,
          errorCode: result.errorCode,
          recordJson: result.recordJson,
        })),
      );
    } catch (err) {
      // Not acked. A worker resends unacknowledged results only on a new stream, so a transient
      // failure (a deadlock victim, a dropped connection) is retried here rather than left in its
      // outbox until it reconnects.
      this.#host.log.warn({ results: batch.length, tries, err: (err as Error).message }, 'results not stored');
      if (!this.#stopped && tries < STORE_RETRIES) {
        const retry = setTimeout(() => void this.store(batch, tries + 1), 50 * 2 ** tries);
        retry.unref();
      }
      return;
    }
    batch.forEach(({ worker, result, done }, i) => {
      const outcome = outcomes[i] as StoreOutcome;
      if (outcome === 'accepted') this.#host.settled(worker, result);
      else if (outcome === 'duplicate') this.#host.duplicateResults++;
      else if (outcome === 'fenced') this.#host.fencedResults++;
      done(outcome);
    });
    this.#host.pump();
  }

  /** A refusal or a lost attempt: back to pending in the database (only if still current). */
  requeue(task: TaskRow, refused = false): void {
    this.#host.live.delete(task.id);
    void this.backend.requeueTask(task.id, String(task.epoch), refused).catch(() => {});
  }

  /** The worker is lost here: every unfinished task the database has on it goes back to pending. */
  lost(w: WorkerState): void {
    const cancelled: Promise<boolean>[] = [];
    for (const id of w.tasks) {
      const task = this.#host.live.get(id);
      // A cancel was asked: the attempt ends `killed` rather than running again elsewhere.
      if (task?.cancelRequested && task.workerId === w.id)
        cancelled.push(
          this.#host.finish(task, 'killed', 'cancelled', `cancelled; its worker went away (worker ${w.id} lost)`),
        );
      this.#host.live.delete(id);
    }
    w.tasks.clear();
    // Only while the worker is still ours in the registry: it may have registered with another
    // Master meanwhile, which adopted its tasks.
    void Promise.allSettled(cancelled)
      .then(() => this.backend.requeueWorker(w.id, this.#host.masterId))
      .then((ids) => {
        if (ids.length > 0)
          this.#host.log.info({ workerId: w.id, requeued: ids.length }, 'tasks of a lost worker requeued');
      })
      .catch((err: Error) => this.#host.log.warn({ err: err.message }, 'requeue'));
  }

  /** A worker registered (maybe coming from a Master that died): adopt what it holds, requeue the rest. */
  registered(w: WorkerState, held: { taskId: string; attempt: number; epoch: string }[]): void {
    this.#claiming.add(w.id);
    this.backend
      .reconcileWorker(w.id, held, this.#host.masterId)
      .then(({ current, requeued, stale }) => {
        for (const t of current) {
          this.#host.live.set(t.id, rowOf(t));
          w.tasks.add(t.id);
        }
        // Attempts given up while the worker was away (swept, re-dispatched): stop them.
        const attempts = new Map(held.map((h) => [`${h.taskId}:${h.epoch}`, h.attempt]));
        for (const ref of stale) {
          this.#host.log.info(
            { workerId: w.id, taskId: ref.taskId, epoch: ref.epoch },
            'held attempt given up: cancelled',
          );
          const attempt = attempts.get(`${ref.taskId}:${ref.epoch}`) ?? 0;
          void this.#host.control(w.id, { cancel: { taskId: ref.taskId, attempt, epoch: ref.epoch } });
        }
        if (requeued.length > 0) this.#host.log.info({ workerId: w.id, requeued: requeued.length }, 'tasks requeued');
      })
      .catch((err: Error) => this.#host.log.warn({ err: err.message }, 'reconcile failed'))
      .finally(() => {
        this.#claiming.delete(w.id);
        this.#host.pump();
      });
  }

  /** Every third of the heartbeat timeout: the registry, the sweep lease, the silent workers. */
  tick(now: number): void {
    const every = Math.max(100, Math.floor(this.#host.config.heartbeatTimeout / 3));
    if (this.#stopped || now - this.#lastTick < every) return;
    this.#lastTick = now;
    void this.#tick(now).catch((err: Error) => {
      if (!this.#stopped) this.#host.log.warn({ err: err.message }, 'shared sweep failed');
    });
  }

  async #tick(now: number): Promise<void> {
    for (const w of this.#host.workers.values())
      if (w.connected && w.status !== 'lost')
        await this.backend.seen(w.id, this.#host.masterId, w.lastSeenAt, JSON.stringify(w.view()));
    const timeout = this.#host.config.heartbeatTimeout;
    this.sweeper = await this.backend.lease(SWEEP_LEASE, this.#host.masterId, timeout, now);
    if (!this.sweeper) return;
    // Workers no Master has heard from (theirs died, and so did they): their tasks go to others.
    for (const { workerId: id, requeued } of await this.backend.sweepSilent(now, timeout)) {
      if (requeued.length > 0) this.#host.log.info({ workerId: id, requeued: requeued.length }, 'silent worker swept');
    }
  }

  /** A task as the database has it (whichever Master dispatched it or stored its result). */
  async view(id: string): Promise<TaskView | undefined> {
    const task = await this.backend.getTask(id);
    if (!task) return undefined;
    const view = viewOf(rowOf(task));
    if (isFinalTaskStatus(task.status)) {
      const r = await this.backend.getResult(id);
      if (r) Object.assign(view, resultFields({ ...r, epoch: u64Number(r.epoch), errorMessage: null }));
    }
    return view;
  }
}
