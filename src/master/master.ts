/**
 * The reference Master: tasks live in its store (store-backend.ts: embedded node:sqlite, or
 * PostgreSQL shared by several Masters), claimed for connected workers (least loaded first, push
 * or pull, labels and tiers), dispatched with a fresh attempt and epoch, and given exactly one
 * stored result. Silent or vanished workers are detected (heartbeat timeout, stream end + grace)
 * and their tasks go back to the queue. The gRPC side lives in grpc-service.ts, the HTTP API in
 * http.ts, the task flow over the store in shared-tasks.ts.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.ts';
import { StrataError } from '../core/errors.ts';
import { ArtifactSignatures } from '../governance/artifact-signatures.ts';
import { Batcher } from '../protocol/batcher.ts';
import { modeToWire } from '../protocol/wire.ts';
import type { Database } from '../store/database.ts';
import { type ControlAction, sendControl } from './control.ts';
import { Dispatcher } from './dispatch.ts';
import { LiveLogs } from './live-logs.ts';
import { WorkerLiveness } from './liveness.ts';
import { hasCapacity } from './placement.ts';
import { RemoteControl } from './remote-control.ts';
import { rowOf, SharedTasks } from './shared-tasks.ts';
import type {
  MasterStoreBackend,
  NewTask,
  RemoteAction,
  RemoteReply,
  StoredResult,
  StoreOutcome,
} from './store-backend.ts';
import { SqliteMasterStore } from './store-sqlite.ts';
import { TaskControl } from './task-control.ts';
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

export interface MasterOptions {
  config: MasterConfig;
  /** The embedded database (the default store lives there unless `backend` is given). */
  db: Database;
  catalogue: Catalogue;
  /** The id told to workers (names the session; results go to any Master). */
  masterId: string;
  logger?: MasterLogger;
  /** The store: default node:sqlite in `db`; PostgreSQL to share tasks with other Masters. */
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

/** A live-log read through another Master: a page waits this long at most. */
const LOGS_TIMEOUT_MS = 5_000;

type QueuedResult = { worker: WorkerState | undefined; result: StoredResult; done: (o: StoreOutcome) => void };

export class MasterCore extends EventEmitter<MasterEvents> {
  readonly config: MasterConfig;
  readonly catalogue: Catalogue;
  /** Deploy signatures by digest; they travel with the artifact (link.proto Artifact.signature). */
  readonly signatures: ArtifactSignatures;
  readonly masterId: string;
  readonly log: MasterLogger;
  readonly workers = new Map<string, WorkerState>();
  /** Attempts this Master dispatched (or adopted) that have no result yet. */
  readonly live = new Map<string, TaskRow>();
  /** The store, behind its one async interface. */
  readonly backend: MasterStoreBackend;
  /** Set on the embedded store: synchronous reads for the sync views (tests, `task()`). */
  readonly embedded: SqliteMasterStore | undefined;
  /** The task flow over the store: claims, dispatch, results, requeues, the sweep. */
  readonly shared: SharedTasks;
  /** Controls and live-log reads of tasks whose worker another Master holds. */
  readonly remote: RemoteControl;
  // Busy while more than one task is unfinished: more results and pumps are on their way.
  readonly #pump = new Batcher<null>(() => this.shared.place(), { busy: () => this.live.size > 1 });
  #stopped = false;
  readonly #results = new Batcher<QueuedResult>((batch) => this.#flushResults(batch), {
    busy: () => this.live.size > 1,
  });
  #sweeper: NodeJS.Timeout | undefined;
  readonly startedAt = Date.now();
  readonly liveness = new WorkerLiveness(this);
  readonly #dispatcher: Dispatcher;
  readonly taskControl = new TaskControl(this);
  duplicateResults = 0;
  fencedResults = 0;

  constructor(options: MasterOptions) {
    super();
    this.config = options.config;
    this.catalogue = options.catalogue;
    this.signatures = new ArtifactSignatures(options.db);
    this.masterId = options.masterId;
    this.log = options.logger ?? silentLogger;
    this.backend = options.backend ?? new SqliteMasterStore(options.db);
    this.embedded = this.backend instanceof SqliteMasterStore ? this.backend : undefined;
    // A restart loses no task: pending ones stay queued in the store; dispatched ones stay with
    // their worker until it re-registers (adopted, or requeued when it no longer holds them) or
    // the sweep finds it silent.
    this.shared = new SharedTasks(this.backend, this);
    this.remote = new RemoteControl(this);
    this.#dispatcher = new Dispatcher({
      catalogue: this.catalogue,
      inlineArtifactBytes: this.config.inlineArtifactBytes,
      signatures: this.signatures,
      log: this.log,
    });
  }

  /** Listen to the store (new tasks, remote requests); before start(). */
  async open(): Promise<void> {
    await this.shared.start();
    await this.remote.start();
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
    this.liveness.sweepEvery = every;
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
    void this.shared.stop();
    void this.remote.stop();
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
    const now = Date.now();
    const task: NewTask = {
      id: `tsk_${now.toString(36)}${randomBytes(6).toString('hex')}`,
      functionName: fn.name,
      functionVersion: fn.version,
      digest: fn.digest,
      runtime: manifest.runtime ?? 'js',
      inputJson: JSON.stringify(request.input ?? null),
      priority: request.priority ?? manifest.priority ?? 0,
      timeoutMs: request.timeoutMs ?? 0,
      labels: request.labels ?? {},
      createdAt: now,
    };
    // Pending in the store: whichever Master has a free worker first claims it.
    this.shared.insert(task);
    return task.id;
  }

  /** Several tasks stored in one commit (inserts of one turn are one transaction); ids in order. */
  submitMany(requests: SubmitTask[]): string[] {
    return requests.map((r) => this.submit(r));
  }

  /** submitMany, resolved once the tasks are committed. */
  async submitDurable(requests: SubmitTask[]): Promise<string[]> {
    const ids = this.submitMany(requests);
    await this.shared.flushed();
    return ids;
  }

  /** A task's view from the store (also one dispatched or finished by another Master). */
  async lookup(id: string): Promise<TaskView | undefined> {
    await this.shared.flushed();
    const stored = await this.shared.view(id);
    const live = this.live.get(id);
    // `running` is this Master's knowledge (TaskStatus messages), not the store's.
    if (stored && live && !isFinalTaskStatus(stored.status)) stored.status = live.status;
    return stored ?? (live ? viewOf(live) : undefined);
  }

  /** A synchronous view: from the embedded store, else what this Master holds in memory. */
  task(id: string): TaskView | undefined {
    const live = this.live.get(id);
    const stored = this.embedded?.taskNow(id);
    if (!stored) return live ? viewOf(live) : undefined;
    if (!isFinalTaskStatus(stored.status))
      return viewOf(live && live.epoch === Number(stored.epoch) ? live : rowOf(stored));
    const view = viewOf(rowOf(stored));
    const result = this.embedded?.resultNow(id);
    if (result) Object.assign(view, resultFields({ ...result, epoch: Number(result.epoch), errorMessage: null }));
    return view;
  }

  /** Pending tasks (embedded store; 0 otherwise). */
  get pendingCount(): number {
    return this.embedded?.pendingNow() ?? 0;
  }

  /** Place pending tasks (coalesced: once per turn when idle, every ms or so when busy). */
  pump(): void {
    this.#pump.push(null);
  }

  /** The dispatch message of an attempt recorded in the store. */
  sendDispatch(task: TaskRow, worker: WorkerState): void {
    this.#dispatcher.send(task, worker);
  }

  /** Finish a task without a worker result (cancelled, attempts exhausted): stored like one. */
  async finish(task: TaskRow, status: TaskStatus, code: string, message: string): Promise<boolean> {
    const result: StoredResult = {
      taskId: task.id,
      attempt: task.attempt,
      epoch: task.epoch,
      workerId: null,
      status,
      errorCode: code,
      errorMessage: message,
      recordJson: JSON.stringify({ error: { code, message } }),
    };
    const wasLive = this.live.has(task.id);
    const outcome = await new Promise<StoreOutcome>(
      (done) => void this.shared.store([{ worker: undefined, result, done }]),
    );
    if (outcome === 'accepted' && !wasLive && this.listenerCount('final') > 0) {
      const view = await this.lookup(task.id);
      if (view) this.emit('final', view);
    }
    return outcome === 'accepted';
  }

  /** Put a task back in the queue (its worker refused it or was lost), unless it was cancelled. */
  requeue(task: TaskRow, why: string, refused = false): void {
    if (task.workerId) this.workers.get(task.workerId)?.tasks.delete(task.id);
    if (task.cancelRequested) {
      void this.finish(task, 'killed', 'cancelled', `cancelled; its worker went away (${why})`);
      return;
    }
    this.log.info({ taskId: task.id, attempt: task.attempt, why }, 'task requeued');
    this.shared.requeue(task, refused);
  }

  /**
   * A complete result arrived: stored with the others of this tick in one transaction, then
   * `done` is called with the outcome (the caller acks only after the commit).
   */
  queueResult(worker: WorkerState, result: StoredResult, done: (outcome: StoreOutcome) => void): void {
    this.#results.push({ worker, result, done });
  }

  #flushResults(batch: QueuedResult[]): void {
    if (this.#stopped) return;
    void this.shared.store(batch);
  }

  /** Live log tails of unfinished tasks (dropped when the task ends). */
  readonly #liveLogs = new LiveLogs();

  appendLiveLog(taskId: string, data: Buffer): void {
    this.#liveLogs.append(taskId, data);
  }

  /** Live output of a running task, or the final logs of a finished one (embedded store). */
  logs(taskId: string): string | undefined {
    const live = this.#liveLogs.get(taskId);
    if (live !== undefined) return live;
    if (this.live.has(taskId)) return '';
    if (!this.embedded) return undefined;
    return logsOf(this.embedded.resultNow(taskId)?.recordJson, this.embedded.taskNow(taskId) !== undefined);
  }

  /** logs(), from the store whichever Master stored the result, or live from the one running it. */
  async logsOf(taskId: string): Promise<string | undefined> {
    const now = this.logs(taskId);
    if (now !== undefined) return now;
    const stored = await this.backend.getTask(taskId);
    if (
      stored &&
      (stored.status === 'dispatched' || stored.status === 'running') &&
      stored.masterId !== this.masterId
    ) {
      const reply = await this.remote.ask(taskId, 'logs', stored.masterId ?? '', LOGS_TIMEOUT_MS);
      if (reply.ok) return reply.message;
    }
    const result = await this.backend.getResult(taskId);
    return logsOf(result?.recordJson, result !== undefined || (await this.backend.getTask(taskId)) !== undefined);
  }

  /** Store queued results now (so what a worker sent before a ControlAck is in before the ack). */
  flushResults(): void {
    this.#results.flush();
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
    this.liveness.sweep(now);
  }

  /** The worker's stream ended: lost after the reconnect grace unless it registers again. */
  streamEnded(w: WorkerState): void {
    this.liveness.streamEnded(w);
  }

  markLost(w: WorkerState, now: number, why: LostReason = 'heartbeat_timeout'): void {
    this.liveness.markLost(w, now, why);
  }

  get stalledMs(): number {
    return this.liveness.stalledMs;
  }

  get lostCount(): number {
    return this.liveness.lostCount;
  }

  /** For the liveness module: the store's periodic work, and a lost worker's tasks. */
  tick(now: number): void {
    this.shared.tick(now);
  }

  lost(w: WorkerState, now: number, why: LostReason): void {
    this.shared.lost(w);
    this.emit('lost', w.id, now, why);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  workerViews(): WorkerView[] {
    return [...this.workers.values()].map((w) => w.view());
  }

  /**
   * GET /v1/workers: this Master's workers, and on a shared store the ones other Masters hold (as
   * their Master last wrote them, at most a registry tick old), each with the Master holding it.
   */
  async allWorkerViews(): Promise<(WorkerView & { masterId: string })[]> {
    const own = this.workerViews().map((v) => ({ ...v, masterId: this.masterId }));
    if (this.embedded) return own;
    const mine = new Set(own.map((v) => v.id));
    const others = (await this.backend.workers())
      .filter((w) => !mine.has(w.id) && w.status !== 'lost' && w.view)
      .map((w) => ({ ...(w.view as WorkerView), masterId: w.masterId }));
    return [...own, ...others];
  }

  /** Send a control message and wait for the worker's ControlAck. */
  control(workerId: string, action: ControlAction): Promise<ControlReply> {
    return sendControl(workerId, this.workers.get(workerId), action);
  }

  /** Cancel a task wherever it is: pending (finished here), running here, or under another Master. */
  cancelTask(taskId: string): Promise<ControlReply> {
    return this.taskControl.cancel(taskId);
  }

  pauseOrResume(taskId: string, what: 'pause' | 'resume'): Promise<ControlReply> {
    return this.taskControl.pauseOrResume(taskId, what);
  }

  /** A request from another Master about a task this Master's worker runs. */
  actLocally(taskId: string, action: RemoteAction): Promise<RemoteReply> {
    return this.taskControl.actLocally(taskId, action);
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

/** The `logs` of a stored record; '' when the task exists without any. */
function logsOf(recordJson: string | null | undefined, exists: boolean): string | undefined {
  if (!recordJson) return exists ? '' : undefined;
  try {
    return (JSON.parse(recordJson) as { logs?: string }).logs ?? '';
  } catch {
    return '';
  }
}
