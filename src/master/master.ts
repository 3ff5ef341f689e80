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
import { Batcher } from '../protocol/batcher.ts';
import { modeToWire } from '../protocol/wire.ts';
import type { Database } from '../store/database.ts';
import { type ControlAction, refOf, sendControl } from './control.ts';
import { LiveLogs } from './live-logs.ts';
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
  #sweepEvery = 50;
  #lastSweepAt: number | undefined;
  /** Time the Master's own loop was stalled between sweeps (not counted as worker silence). */
  stalledMs = 0;
  readonly startedAt = Date.now();
  /** Failure detections, for the benchmark and /metrics. */
  lostCount = 0;
  duplicateResults = 0;
  fencedResults = 0;

  constructor(options: MasterOptions) {
    super();
    this.config = options.config;
    this.catalogue = options.catalogue;
    this.masterId = options.masterId;
    this.log = options.logger ?? silentLogger;
    this.backend = options.backend ?? new SqliteMasterStore(options.db);
    this.embedded = this.backend instanceof SqliteMasterStore ? this.backend : undefined;
    // A restart loses no task: pending ones stay queued in the store; dispatched ones stay with
    // their worker until it re-registers (adopted, or requeued when it no longer holds them) or
    // the sweep finds it silent.
    this.shared = new SharedTasks(this.backend, this);
    this.remote = new RemoteControl(this);
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
    const inline = this.#inline(task.digest);
    worker.send({
      dispatch: {
        task: { taskId: task.id, attempt: task.attempt, epoch: task.epoch },
        function: { name: task.functionName, version: task.functionVersion, digest: task.digest },
        inline,
        inputJson: Buffer.from(task.inputJson),
        deadlineMs: 0,
        timeoutMs: task.timeoutMs,
        priority: task.priority,
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
    // A Master that was itself stalled (a blocked or starved event loop: seen for seconds in a
    // burst on a busy machine) cannot tell a silent worker from its own unread messages: the time
    // it was stalled does not count as the workers' silence.
    this.shared.tick(now);
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
    this.shared.lost(w);
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
    if (task?.workerId && task.status !== 'pending') {
      task.cancelRequested = true;
      // Kept in the store: an attempt requeued later is finished `killed`, never run again.
      await this.backend.requestCancel(taskId);
      return this.control(task.workerId, { cancel: refOf(task) });
    }
    return this.#cancelStored(taskId);
  }

  /** A task this Master does not run: cancelled in the store while pending, else its Master's. */
  async #cancelStored(taskId: string): Promise<ControlReply> {
    await this.shared.flushed();
    const stored = await this.backend.getTask(taskId);
    if (!stored) return { ok: false, code: 'not_found', message: `no task ${taskId}` };
    if (isFinalTaskStatus(stored.status))
      return { ok: false, code: 'conflict', message: `task ${taskId} already finished (${stored.status})` };
    if (stored.status !== 'pending') {
      if (!stored.masterId || stored.masterId === this.masterId)
        return { ok: false, code: 'unavailable', message: `worker ${stored.workerId} is not connected` };
      // Kept in the store first: if the attempt is requeued meanwhile, it is never run again.
      await this.backend.requestCancel(taskId);
      return this.remote.ask(taskId, 'cancel', stored.masterId);
    }
    const done = await this.finish(rowOf(stored), 'killed', 'cancelled', 'cancelled before it was dispatched');
    return done
      ? { ok: true, code: '', message: 'cancelled before dispatch' }
      : { ok: false, code: 'conflict', message: `task ${taskId} was dispatched meanwhile` };
  }

  async pauseOrResume(taskId: string, what: 'pause' | 'resume'): Promise<ControlReply> {
    const task = this.live.get(taskId);
    const notRunning = { ok: false, code: 'not_found', message: `task ${taskId} is not running on a worker` };
    if (!task?.workerId) {
      const stored = this.backend.kind === 'postgres' ? await this.backend.getTask(taskId) : undefined;
      const elsewhere = stored?.masterId && stored.masterId !== this.masterId;
      if (!elsewhere || (stored.status !== 'dispatched' && stored.status !== 'running')) return notRunning;
      return this.remote.ask(taskId, what, stored.masterId as string);
    }
    return this.control(task.workerId, what === 'pause' ? { pause: refOf(task) } : { resume: refOf(task) });
  }

  /** A request from another Master about a task this Master's worker runs. */
  async actLocally(taskId: string, action: RemoteAction): Promise<RemoteReply> {
    if (!this.live.has(taskId)) return { ok: false, code: 'not_found', message: `task ${taskId} does not run here` };
    if (action === 'logs') return { ok: true, code: '', message: this.logs(taskId) ?? '' };
    if (action === 'cancel') return this.cancelTask(taskId);
    return this.pauseOrResume(taskId, action);
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
