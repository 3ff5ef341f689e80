/**
 * The reference Master: keeps tasks in node:sqlite, places them on connected workers (least
 * loaded, push or pull), detects silent workers by heartbeat timeout and dispatches their tasks
 * again with a new attempt and epoch, and stores exactly one result per task.
 * The gRPC side lives in grpc-service.ts, the HTTP API in http.ts.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.ts';
import { StrataError } from '../core/errors.ts';
import { ArtifactSignatures } from '../governance/artifact-signatures.ts';
import { Batcher } from '../protocol/batcher.ts';
import { modeToWire } from '../protocol/wire.ts';
import type { Database } from '../store/database.ts';
import { tenantOfKey } from '../tenants/namespace.ts';
import { type ControlAction, refOf, sendControl } from './control.ts';
import { LiveLogs } from './live-logs.ts';
import { hasCapacity, pickWorker } from './placement.ts';
import { SharedTasks } from './shared-tasks.ts';
import { MasterStore, type StoredResult, type StoreOutcome } from './store.ts';
import type { MasterStoreBackend } from './store-backend.ts';
import { resultFields, viewOf } from './task-view.ts';
import {
  type Catalogue,
  isFinalTaskStatus,
  type TaskRow,
  type TaskStatus,
  type TaskView,
  type WorkerView,
} from './types.ts';
import { type ControlReply, WorkerState } from './worker-state.ts';

export type MasterConfig = Config['master'];
export type { ControlAction } from './control.ts';
export { resultFields } from './task-view.ts';

export interface MasterLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

const silentLogger: MasterLogger = { info() {}, warn() {}, debug() {} };

export interface SubmitTask {
  function: string;
  version?: number;
  input?: unknown;
  priority?: number;
  timeoutMs?: number;
  labels?: Record<string, string>;
}

interface InlineArtifact {
  digest: string;
  manifestJson: Buffer;
  code: Uint8Array;
}

export interface MasterOptions {
  config: MasterConfig;
  db: Database;
  catalogue: Catalogue;
  /** Stable id told to workers (results are only resent to the Master with the same id). */
  masterId: string;
  logger?: MasterLogger;
  /** The shared store (PostgreSQL): tasks, claims, epochs and results live there, not in `db`. */
  backend?: MasterStoreBackend;
}

export type LostReason = 'stream_ended' | 'heartbeat_timeout';

export interface MasterEvents {
  /** A task got its one stored result. */
  final: [task: TaskView];
  /** A worker was declared lost: its stream ended and it did not come back in the grace, or it fell silent. */
  lost: [workerId: string, at: number, why: LostReason];
  /** A worker registered (new session). */
  registered: [workerId: string];
}

export class MasterCore extends EventEmitter<MasterEvents> {
  readonly config: MasterConfig;
  readonly store: MasterStore;
  readonly catalogue: Catalogue;
  /** Deploy signatures by digest; they travel with the artifact (link.proto Artifact.signature). */
  readonly signatures: ArtifactSignatures;
  readonly masterId: string;
  readonly log: MasterLogger;
  readonly workers = new Map<string, WorkerState>();
  /** Unfinished tasks (pending, dispatched, running), mirrored from the store. */
  readonly live = new Map<string, TaskRow>();
  /** Pending task ids, highest priority first, then oldest. */
  #queue: TaskRow[] = [];
  #epoch: number;
  // Busy while more than one task is unfinished: more results and pumps are on their way.
  readonly #pump = new Batcher<null>(() => this.#place(), { busy: () => this.live.size > 1 });
  #stopped = false;
  readonly #results = new Batcher<{ worker: WorkerState; result: StoredResult; done: (o: StoreOutcome) => void }>(
    (batch) => this.#flushResults(batch),
    { busy: () => this.live.size > 1 },
  );
  #sweeper: NodeJS.Timeout | undefined;
  #sweepEvery = 50;
  #lastSweepAt: number | undefined;
  /** Time the Master's own loop was stalled between sweeps (not counted as worker silence). */
  stalledMs = 0;
  readonly startedAt = Date.now();
  /** Failure detections, for the benchmark and /metrics. */
  lostCount = 0;
  duplicateResults = 0;
  fencedResults = 0;
  /** Set when the Master runs on the shared store (several Masters on one PostgreSQL). */
  readonly shared: SharedTasks | undefined;

  constructor(options: MasterOptions) {
    super();
    this.config = options.config;
    this.catalogue = options.catalogue;
    this.signatures = new ArtifactSignatures(options.db);
    this.masterId = options.masterId;
    this.log = options.logger ?? silentLogger;
    this.store = new MasterStore(options.db);
    this.#epoch = this.store.maxEpoch();
    this.shared = options.backend ? new SharedTasks(options.backend, this) : undefined;
    if (this.shared) return;
    // A restart loses no task: pending ones queue again; dispatched ones stay with their worker
    // until it re-registers without them or its heartbeat times out (ghost workers below).
    for (const task of this.store.unfinishedTasks()) {
      this.live.set(task.id, task);
      if (task.status === 'pending' || !task.workerId) this.#enqueue(task);
      else this.worker(task.workerId).tasks.add(task.id);
    }
  }

  /** The state of a worker, created on first use. */
  worker(id: string): WorkerState {
    let w = this.workers.get(id);
    if (!w) {
      w = new WorkerState(id);
      this.workers.set(id, w);
    }
    return w;
  }

  start(): void {
    const every = Math.max(20, Math.min(50, Math.floor(this.config.heartbeatTimeout / 20)));
    this.#sweepEvery = every;
    this.#sweeper = setInterval(() => this.sweep(Date.now()), every);
    this.#sweeper.unref();
    this.pump();
  }

  stop(): void {
    clearInterval(this.#sweeper);
    for (const w of this.workers.values()) clearTimeout(w.graceTimer);
    this.#results.flush();
    this.#pump.clear();
    this.#stopped = true;
    void this.shared?.stop();
    for (const w of this.workers.values()) w.failControls('the Master is stopping');
  }

  /** Tasks a worker may receive now (0: none). */
  canTake(w: WorkerState, now: number): number {
    if (!hasCapacity(w, now)) return 0;
    return w.mode === 'push' ? w.window - w.assigned : w.pullBudget;
  }

  // ---- tasks ----------------------------------------------------------------------------------

  submit(request: SubmitTask): string {
    if (typeof request.function !== 'string' || !request.function)
      throw new StrataError('invalid_request', 'a task needs "function": the name of a deployed function');
    const fn = this.catalogue.get(request.function, request.version);
    const manifest = fn.manifest as { runtime?: string; priority?: number };
    const inputJson = JSON.stringify(request.input ?? null);
    const now = Date.now();
    const task: TaskRow = {
      id: `tsk_${now.toString(36)}${randomBytes(6).toString('hex')}`,
      functionName: fn.name,
      functionVersion: fn.version,
      digest: fn.digest,
      runtime: manifest.runtime ?? 'js',
      inputJson,
      priority: request.priority ?? manifest.priority ?? 0,
      timeoutMs: request.timeoutMs ?? 0,
      labels: request.labels ?? {},
      status: 'pending',
      workerId: null,
      attempt: 0,
      epoch: 0,
      cancelRequested: false,
      createdAt: now,
      updatedAt: now,
    };
    if (this.shared) {
      // Pending in the database: whichever Master has a free worker first claims it.
      this.shared.insert(task);
      return task.id;
    }
    this.store.insertTask(task);
    this.live.set(task.id, task);
    this.#enqueue(task);
    this.pump();
    return task.id;
  }

  /** Several tasks stored in one commit (all or none); their ids in order. */
  submitMany(requests: SubmitTask[]): string[] {
    if (this.shared) return requests.map((r) => this.submit(r));
    return this.store.batch(() => requests.map((r) => this.submit(r)));
  }

  /** submitMany, resolved once the tasks are durable (on the shared store: committed). */
  async submitDurable(requests: SubmitTask[]): Promise<string[]> {
    const ids = this.submitMany(requests);
    await this.shared?.flushed();
    return ids;
  }

  /** A task's view; on the shared store also one dispatched or finished by another Master. */
  async lookup(id: string): Promise<TaskView | undefined> {
    if (!this.shared) return this.task(id);
    return (await this.shared.view(id)) ?? this.task(id);
  }

  task(id: string): TaskView | undefined {
    const live = this.live.get(id);
    const row = live ?? this.store.getTask(id);
    if (!row) return undefined;
    const view = viewOf(row);
    if (!live && isFinalTaskStatus(row.status)) {
      const stored = this.store.getResult(id);
      if (stored) Object.assign(view, resultFields(stored));
    }
    return view;
  }

  #enqueue(task: TaskRow): void {
    task.status = 'pending';
    task.workerId = null;
    // Binary search: priority desc, then createdAt asc.
    let lo = 0;
    let hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.#queue[mid] as TaskRow;
      if (m.priority > task.priority || (m.priority === task.priority && m.createdAt <= task.createdAt)) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, task);
  }

  get pendingCount(): number {
    return this.#queue.length;
  }

  /** Place pending tasks (coalesced: once per turn when idle, every ms or so when busy). */
  pump(): void {
    this.#pump.push(null);
  }

  #place(): void {
    if (this.shared) {
      this.shared.place();
      return;
    }
    if (this.#stopped || this.#queue.length === 0) return;
    const now = Date.now();
    let room = false;
    for (const w of this.workers.values()) if (hasCapacity(w, now)) room = true;
    if (!room) return;
    // One transaction for a whole round of dispatches: one commit instead of one per task.
    this.store.batch(() => this.#placeRound());
  }

  #placeRound(): void {
    const now = Date.now();
    let i = 0;
    while (i < this.#queue.length) {
      const task = this.#queue[i] as TaskRow;
      const worker = pickWorker(this.workers.values(), task, now);
      if (!worker) {
        // Nobody can take this one; a later task may fit elsewhere (labels, tiers) - but only
        // if some worker still has capacity at all.
        if (![...this.workers.values()].some((w) => (w.mode === 'pull' ? w.pullBudget > 0 : w.assigned < w.window)))
          return;
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      this.#dispatch(task, worker);
    }
  }

  #dispatch(task: TaskRow, worker: WorkerState): void {
    if (task.attempt >= this.config.maxAttempts) {
      this.#finishLocally(task, 'lost', 'worker_lost', `the task was lost on ${task.attempt} workers; giving up`);
      return;
    }
    task.attempt += 1;
    this.#epoch += 1;
    task.epoch = this.#epoch;
    task.workerId = worker.id;
    task.status = 'dispatched';
    task.updatedAt = Date.now();
    this.store.markDispatched(task.id, worker.id, task.attempt, task.epoch);
    worker.tasks.add(task.id);
    if (worker.mode === 'pull') worker.pullBudget = Math.max(0, worker.pullBudget - 1);
    this.sendDispatch(task, worker);
  }

  /** The dispatch message of an attempt already recorded (here or in the shared store). */
  sendDispatch(task: TaskRow, worker: WorkerState): void {
    const cached = this.#inline(task.digest);
    const inline = cached && { ...cached, signature: this.signatures.get(task.digest) ?? null };
    worker.send({
      dispatch: {
        task: { taskId: task.id, attempt: task.attempt, epoch: task.epoch },
        function: { name: task.functionName, version: task.functionVersion, digest: task.digest },
        inline,
        inputJson: Buffer.from(task.inputJson),
        deadlineMs: 0,
        timeoutMs: task.timeoutMs,
        priority: task.priority,
        // The catalogue keys a tenant's function `tenant/name`: the task is that tenant's.
        tenant: tenantOfKey(task.functionName),
      },
    });
  }

  /** Inline artifacts by digest (content-addressed, so immutable): one catalogue read per burst. */
  readonly #inlines = new Map<string, InlineArtifact | null>();

  #inline(digest: string): InlineArtifact | null {
    if (this.config.inlineArtifactBytes <= 0) return null;
    const cached = this.#inlines.get(digest);
    if (cached !== undefined) return cached;
    const fn = this.catalogue.getByDigest(digest);
    if (!fn) return null;
    let inline: InlineArtifact | null = null;
    try {
      const artifact = this.catalogue.artifact(fn);
      if (artifact.code.byteLength <= this.config.inlineArtifactBytes)
        inline = {
          digest: artifact.digest,
          manifestJson: Buffer.from(JSON.stringify(artifact.manifest)),
          code: artifact.code,
        };
    } catch (err) {
      // Unreadable here: the worker will ask FetchArtifact and report what it gets.
      this.log.warn({ digest, err: (err as Error).message }, 'artifact unreadable');
      return null;
    }
    if (this.#inlines.size >= 64) this.#inlines.delete(this.#inlines.keys().next().value as string);
    this.#inlines.set(digest, inline);
    return inline;
  }

  #finishLocally(task: TaskRow, status: TaskStatus, code: string, message: string): void {
    if (this.store.finishTask(task, status, code, message)) {
      task.status = status;
      this.live.delete(task.id);
      const view = this.task(task.id);
      if (view) this.emit('final', view);
    }
  }

  /** Put a task back in the queue (its worker refused it or was lost), unless it was cancelled. */
  requeue(task: TaskRow, why: string): void {
    if (task.workerId) this.workers.get(task.workerId)?.tasks.delete(task.id);
    if (task.cancelRequested) {
      this.#finishLocally(task, 'killed', 'cancelled', `cancelled; its worker went away (${why})`);
      return;
    }
    if (this.shared) {
      this.shared.requeue(task);
      return;
    }
    if (!this.store.requeue(task.id, task.epoch)) return;
    this.log.info({ taskId: task.id, attempt: task.attempt, why }, 'task requeued');
    this.#enqueue(task);
    this.pump();
  }

  /**
   * A complete result arrived: stored with the others of this tick in one transaction, then
   * `done` is called with the outcome (the caller acks only after the commit).
   */
  queueResult(worker: WorkerState, result: StoredResult, done: (outcome: StoreOutcome) => void): void {
    this.#results.push({ worker, result, done });
  }

  #flushResults(batch: { worker: WorkerState; result: StoredResult; done: (o: StoreOutcome) => void }[]): void {
    if (this.#stopped) return;
    if (this.shared) {
      void this.shared.store(batch);
      return;
    }
    // The slots these results freed are refilled in the same commit.
    const outcomes = this.store.batch(() => {
      const out = batch.map((r) => this.acceptResult(r.worker, r.result));
      this.#place();
      return out;
    });
    batch.forEach((r, i) => {
      r.done(outcomes[i] as StoreOutcome);
    });
  }

  /** Live log tails of unfinished tasks (dropped when the task ends). */
  readonly #liveLogs = new LiveLogs();

  appendLiveLog(taskId: string, data: Buffer): void {
    this.#liveLogs.append(taskId, data);
  }

  /** Live output of a running task, or the final logs of a finished one. */
  logs(taskId: string): string | undefined {
    const live = this.#liveLogs.get(taskId);
    if (live !== undefined) return live;
    if (this.live.has(taskId)) return '';
    const stored = this.store.getResult(taskId);
    if (!stored) return this.store.getTask(taskId) ? '' : undefined;
    try {
      return (JSON.parse(stored.recordJson ?? '{}') as { logs?: string }).logs ?? '';
    } catch {
      return '';
    }
  }

  /** Store queued results now (so what a worker sent before a ControlAck is in before the ack). */
  flushResults(): void {
    this.#results.flush();
  }

  /** Store one complete result (see queueResult). */
  acceptResult(worker: WorkerState, result: StoredResult): 'accepted' | 'duplicate' | 'fenced' | 'unknown_task' {
    const outcome = this.store.storeResult(result);
    if (outcome === 'accepted') this.settled(worker, result);
    else if (outcome === 'duplicate') this.duplicateResults++;
    else if (outcome === 'fenced') this.fencedResults++;
    return outcome;
  }

  /** A result was stored (here or in the shared store): forget the task, tell listeners, refill. */
  settled(worker: WorkerState | undefined, result: StoredResult): void {
    const task = this.live.get(result.taskId);
    this.live.delete(result.taskId);
    this.#liveLogs.delete(result.taskId);
    worker?.tasks.delete(result.taskId);
    if (task) {
      task.status = result.status;
      task.updatedAt = Date.now();
      if (task.workerId && task.workerId !== worker?.id) this.workers.get(task.workerId)?.tasks.delete(task.id);
      if (this.listenerCount('final') > 0) this.emit('final', { ...viewOf(task), ...resultFields(result) });
    }
    this.pump();
  }

  // ---- workers --------------------------------------------------------------------------------

  /** Declare silent workers lost and dispatch their tasks again. */
  sweep(now: number): void {
    // A Master that was itself stalled (a blocked or starved event loop: seen for seconds in a
    // burst on a busy machine) cannot tell a silent worker from its own unread messages: the time
    // it was stalled does not count as the workers' silence.
    this.shared?.tick(now);
    const stalled = this.#lastSweepAt === undefined ? 0 : now - this.#lastSweepAt - 2 * this.#sweepEvery;
    this.#lastSweepAt = now;
    if (stalled > 0) {
      this.stalledMs += stalled;
      for (const w of this.workers.values()) if (w.status !== 'lost') w.lastSeenAt += stalled;
      return;
    }
    for (const w of this.workers.values()) {
      if (w.status === 'lost' || now - w.lastSeenAt <= this.config.heartbeatTimeout) continue;
      this.markLost(w, now);
    }
  }

  /**
   * The worker's stream ended (detection by event, not only by timeout): lost after the reconnect
   * grace unless a new stream registered meanwhile, in which case it keeps its tasks (Register.held).
   */
  streamEnded(w: WorkerState): void {
    if (this.#stopped) return;
    clearTimeout(w.graceTimer);
    const ended = w.call;
    w.graceTimer = setTimeout(() => {
      w.graceTimer = undefined;
      if (this.#stopped || w.call !== ended || w.status === 'lost') return;
      this.markLost(w, Date.now(), 'stream_ended');
    }, this.config.reconnectGrace);
    w.graceTimer.unref();
  }

  markLost(w: WorkerState, now: number, why: LostReason = 'heartbeat_timeout'): void {
    clearTimeout(w.graceTimer);
    w.graceTimer = undefined;
    this.lostCount++;
    w.status = 'lost';
    this.log.warn({ workerId: w.id, silentMs: now - w.lastSeenAt, why }, 'worker lost');
    const call = w.call;
    w.call = null;
    w.failControls('the worker was lost');
    w.partial.clear();
    try {
      call?.end();
    } catch {
      // The stream may already be broken; it is dropped either way.
    }
    if (this.shared) this.shared.lost(w);
    for (const id of [...w.tasks]) {
      const task = this.live.get(id);
      w.tasks.delete(id);
      if (task && task.workerId === w.id) this.requeue(task, `worker ${w.id} lost`);
    }
    this.emit('lost', w.id, now, why);
  }

  workerViews(): WorkerView[] {
    return [...this.workers.values()].map((w) => w.view());
  }

  /** Send a control message and wait for the worker's ControlAck. */
  control(workerId: string, action: ControlAction): Promise<ControlReply> {
    return sendControl(workerId, this.workers.get(workerId), action);
  }

  async cancelTask(taskId: string): Promise<ControlReply> {
    const task = this.live.get(taskId);
    if (!task && this.shared) return this.#cancelShared(taskId);
    if (!task) {
      const stored = this.store.getTask(taskId);
      return stored
        ? { ok: false, code: 'conflict', message: `task ${taskId} already finished (${stored.status})` }
        : { ok: false, code: 'not_found', message: `no task ${taskId}` };
    }
    task.cancelRequested = true;
    this.store.requestCancel(taskId);
    if (task.status === 'pending') {
      this.#queue = this.#queue.filter((t) => t.id !== taskId);
      this.#finishLocally(task, 'killed', 'cancelled', 'cancelled before it was dispatched');
      return { ok: true, code: '', message: 'cancelled before dispatch' };
    }
    return this.control(task.workerId as string, { cancel: refOf(task) });
  }

  /** A task this Master does not run: cancelled in the database while pending, else its Master's. */
  async #cancelShared(taskId: string): Promise<ControlReply> {
    const backend = (this.shared as SharedTasks).backend;
    const stored = await backend.getTask(taskId);
    if (!stored) return { ok: false, code: 'not_found', message: `no task ${taskId}` };
    if (isFinalTaskStatus(stored.status))
      return { ok: false, code: 'conflict', message: `task ${taskId} already finished (${stored.status})` };
    if (stored.status !== 'pending')
      return {
        ok: false,
        code: 'conflict',
        message: `task ${taskId} runs under Master ${stored.masterId}: cancel it there`,
      };
    const message = 'cancelled before it was dispatched';
    const outcome = await backend.storeResult({
      taskId,
      attempt: stored.attempt,
      epoch: stored.epoch,
      workerId: null,
      status: 'killed',
      errorCode: 'cancelled',
      recordJson: JSON.stringify({ error: { code: 'cancelled', message } }),
    });
    return outcome === 'accepted'
      ? { ok: true, code: '', message: 'cancelled before dispatch' }
      : { ok: false, code: 'conflict', message: `task ${taskId} was dispatched meanwhile` };
  }

  async pauseOrResume(taskId: string, what: 'pause' | 'resume'): Promise<ControlReply> {
    const task = this.live.get(taskId);
    if (!task?.workerId) return { ok: false, code: 'not_found', message: `task ${taskId} is not running on a worker` };
    return this.control(task.workerId, what === 'pause' ? { pause: refOf(task) } : { resume: refOf(task) });
  }

  drainWorker(workerId: string, disconnect = false): Promise<ControlReply> {
    const w = this.workers.get(workerId);
    if (w) w.draining = true;
    return this.control(workerId, { drain: { disconnect } });
  }

  configureWorker(workerId: string, settings: Record<string, unknown>): Promise<ControlReply> {
    return this.control(workerId, { configure: settings });
  }

  /** The configuration sent in RegisterAck. */
  workerConfig(): Record<string, unknown> {
    return {
      heartbeatIntervalMs: this.config.workerHeartbeatInterval,
      dispatchMode:
        this.config.dispatchMode === 'worker' ? 'DISPATCH_MODE_UNSPECIFIED' : modeToWire(this.config.dispatchMode),
    };
  }
}
