/**
 * The worker's link to its Master(s): one Connect stream at a time, re-opened with exponential
 * backoff and jitter, failing over through the configured addresses; heartbeats every interval and
 * at once on a change; push/pull/hybrid dispatch; results through the durable outbox.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Batcher } from '../protocol/batcher.ts';
import { linkProto, type MasterMessage__Output, type WorkerLinkClient, type WorkerMessage } from '../protocol/proto.ts';
import { bearer, type LinkMode, type ModePolicy, modeFromWire } from '../protocol/wire.ts';
import type { Database } from '../store/database.ts';
import { backoffDelay, firstMasterIndex } from './backoff.ts';
import { channelCredentials, channelOptions, type LinkConfig } from './credentials.ts';
import { loadOf, ModeGovernor } from './dispatch-mode.ts';
import { LogBuffer } from './log-buffer.ts';
import { type NodeUsage, osNodeUsage } from './node-usage.ts';
import { Outbox } from './outbox.ts';
import { LinkSession } from './session.ts';
import type { SessionHost } from './session-host.ts';
import { type FetchedArtifact, type TaskRef, TaskRunner } from './task-runner.ts';
import type { LinkExecutor, LinkLogger, LinkRegistry, LinkSignatures, TierReport } from './types.ts';

export interface MasterLinkOptions {
  config: LinkConfig;
  /** The worker's database: the outbox lives in it (namespace "link"). */
  db: Database;
  executor: LinkExecutor;
  registry: LinkRegistry;
  /** This worker's check of dispatched signatures (src/governance); none: signatures are not looked at. */
  signatures?: LinkSignatures;
  logger?: LinkLogger;
  /** Stable id; default: config.link.workerId, else host name + a hash of dataDir. */
  workerId?: string;
  dataDir?: string;
  version?: string;
  /** Tier health for register and heartbeats (names from src/core/tiers.ts). */
  tiersHealth?: () => TierReport[];
  /** Node resource totals; default: node:os figures. */
  nodeUsage?: () => NodeUsage;
}

export interface LinkStats {
  state: 'stopped' | 'connecting' | 'connected';
  master: string | null;
  masterId: string | null;
  mode: LinkMode;
  policy: ModePolicy;
  status: 'ok' | 'degraded' | 'maintenance';
  unfinishedTasks: number;
  outboxPending: number;
  logDroppedBytes: number;
  reconnects: number;
  heartbeatsSent: number;
  resultsSent: number;
  resultsAcked: number;
  /** Hybrid push <-> pull switches since start. */
  modeSwitches: number;
}

const noopLogger: LinkLogger = { info() {}, warn() {}, debug() {}, error() {} };

export class MasterLink implements SessionHost {
  readonly workerId: string;
  readonly instanceId = randomUUID();
  readonly config: LinkConfig;
  readonly outbox: Outbox;
  readonly runner: TaskRunner;
  readonly logs: LogBuffer;
  readonly #options: MasterLinkOptions;
  readonly #log: LinkLogger;
  readonly #clients = new Map<string, WorkerLinkClient>();
  #session: LinkSession | undefined;
  #stopped = true;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #index = 0;
  #maintenance: string | null = null;
  #draining = false;
  heartbeatIntervalMs: number;
  policy: ModePolicy;
  mode: LinkMode;
  hybridHigh: number;
  hybridLow: number;
  #outstandingPull = 0;
  readonly #governor: ModeGovernor;
  readonly #acks = new Batcher<number>(
    (ids) => {
      this.counters.resultsAcked += this.outbox.removeAll(ids);
    },
    { busy: () => this.runner.unfinished > 0 },
  );
  readonly counters = { reconnects: 0, heartbeatsSent: 0, resultsSent: 0, resultsAcked: 0, modeSwitches: 0 };

  constructor(options: MasterLinkOptions) {
    this.#options = options;
    this.config = options.config;
    this.#log = options.logger ?? noopLogger;
    this.workerId =
      options.workerId ||
      options.config.workerId ||
      `${hostname()}-${createHash('sha256')
        .update(resolve(options.dataDir ?? '.'))
        .digest('hex')
        .slice(0, 8)}`;
    this.heartbeatIntervalMs = options.config.heartbeatInterval;
    this.policy = options.config.dispatchMode;
    this.mode = this.policy === 'pull' ? 'pull' : 'push';
    this.hybridHigh = options.config.hybridHigh;
    this.hybridLow = options.config.hybridLow;
    this.#governor = new ModeGovernor({
      smoothingMs: options.config.hybridSmoothing,
      dwellMs: options.config.hybridDwell,
    });
    this.logs = new LogBuffer(options.config.logBufferBytes);
    this.outbox = new Outbox(options.db);
    this.runner = new TaskRunner({
      executor: options.executor,
      registry: options.registry,
      ...(options.signatures ? { signatures: options.signatures } : {}),
      outbox: this.outbox,
      log: this.#log,
      hooks: {
        status: (ref, state, message) =>
          this.#session?.send({ taskStatus: { task: ref, state, message: message ?? '' } }),
        resultReady: (entry) => this.#session?.sendResult(entry),
        changed: () => this.changed(),
        fetchArtifact: (digest) => this.#fetchArtifact(digest),
      },
    });
  }

  // Any invocation (Master task or HTTP) changes load and free slots: heartbeat at once.
  readonly #onExecutorEvent = () => this.changed();
  readonly #onLog = (executionId: string, text: string) => this.taskLog(executionId, text);

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Connect and keep connected until stop(). Resolves at once; the loop runs in the background. */
  start(): void {
    if (!this.#stopped) return;
    if (this.config.masters.length === 0) throw new Error('link.masters is empty: nothing to connect to');
    this.#stopped = false;
    this.#index = firstMasterIndex(this.workerId, this.config.masters.length);
    this.#options.executor.on('start', this.#onExecutorEvent);
    this.#options.executor.on('finish', this.#onExecutorEvent);
    this.#options.executor.on('log', this.#onLog);
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#session?.close('the link is stopping');
    await this.#loop;
    this.#options.executor.off('start', this.#onExecutorEvent);
    this.#options.executor.off('finish', this.#onExecutorEvent);
    this.#options.executor.off('log', this.#onLog);
    this.#acks.flush();
    this.runner.dispose();
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const address = this.config.masters[this.#index % this.config.masters.length] as string;
      const session = new LinkSession(this, address, this.#client(address), this.#log);
      this.#session = session;
      const established = await session.run();
      this.#session = undefined;
      if (this.#stopped) break;
      this.counters.reconnects++;
      // A broken channel may hold a dead transport (half-open TCP): start the next try afresh.
      this.#dropClient(address);
      if (established) failures = 0;
      else {
        failures++;
        // Fail over to the next Master; the whole list is tried before backing off further.
        this.#index++;
      }
      const delay = backoffDelay(failures, {
        initialMs: this.config.reconnectInitial,
        maxMs: this.config.reconnectMax,
        jitter: this.config.reconnectJitter,
      });
      await new Promise<void>((res) => {
        const timer = setTimeout(res, delay);
        this.#wake = () => {
          clearTimeout(timer);
          res();
        };
      });
      this.#wake = undefined;
    }
  }

  #client(address: string): WorkerLinkClient {
    let client = this.#clients.get(address);
    if (!client) {
      const Ctor = linkProto().strata.v1.WorkerLink;
      client = new Ctor(address, channelCredentials(this.config), channelOptions(this.config));
      this.#clients.set(address, client);
    }
    return client;
  }

  #dropClient(address: string): void {
    this.#clients.get(address)?.close();
    this.#clients.delete(address);
  }

  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.config.token) md.set('authorization', bearer(this.config.token));
    return md;
  }

  // ---- state for the session ------------------------------------------------------------------

  get capacity(): number {
    return this.config.pushWindow || this.#options.executor.stats().concurrency;
  }

  get accepting(): boolean {
    return !this.#draining && this.#maintenance === null;
  }

  tiers(): TierReport[] {
    try {
      if (this.#options.tiersHealth) return this.#options.tiersHealth();
      const health = this.#options.executor.tierHealth?.() ?? {};
      return Object.entries(health).map(([name, h]) => ({
        name,
        available: h?.available ?? false,
        ...(h?.reason ? { reason: h.reason } : {}),
      }));
    } catch {
      return [];
    }
  }

  nodeUsage(): NodeUsage {
    try {
      return this.#options.nodeUsage?.() ?? osNodeUsage(this.#options.dataDir ?? '.');
    } catch {
      return {};
    }
  }

  nodeStatus(usage: NodeUsage): { status: 'ok' | 'degraded' | 'maintenance'; reason: string } {
    if (this.#draining) return { status: 'maintenance', reason: 'draining' };
    if (this.#maintenance !== null) return { status: 'maintenance', reason: this.#maintenance };
    const tiers = this.tiers();
    if (tiers.length > 0 && !tiers.some((t) => t.available)) return { status: 'degraded', reason: 'no tier available' };
    if (usage.memoryTotalBytes && usage.memoryUsedBytes && usage.memoryUsedBytes / usage.memoryTotalBytes > 0.95)
      return { status: 'degraded', reason: 'memory above 95%' };
    return { status: 'ok', reason: '' };
  }

  executorStats() {
    return this.#options.executor.stats();
  }

  heldAll(): TaskRef[] {
    return this.runner.heldAll();
  }

  get version(): string {
    return this.#options.version ?? '0.1.0';
  }

  /** The push window announced in Credits. */
  window(): number {
    return this.mode === 'push' && this.accepting ? this.capacity : 0;
  }

  /** Re-evaluate the hybrid mode on the worker's own smoothed load; true when it switched. */
  reevaluateMode(): boolean {
    const now = performance.now();
    const load = this.#governor.sample(loadOf(this.runner.unfinished, this.capacity), now);
    const next = this.#governor.decide(this.policy, this.mode, this.hybridHigh, this.hybridLow, now);
    if (next === this.mode) return false;
    this.#log.info({ from: this.mode, to: next, load: Math.round(load * 1000) / 1000 }, 'dispatch mode switched');
    this.#governor.switched(now);
    this.counters.modeSwitches++;
    this.mode = next;
    this.#outstandingPull = 0;
    return true;
  }

  /** PULL: how many tasks to ask for now (0 when enough are asked for already). */
  pullWanted(): number {
    if (this.mode !== 'pull' || !this.accepting) return 0;
    const unfinished = this.runner.unfinished;
    const wanted = this.capacity - unfinished - this.#outstandingPull;
    if (wanted <= 0) return 0;
    // Ask in batches (a quarter of capacity) while busy, so a stream of task ends does not turn
    // into one pull round trip per task; an idle worker asks at once.
    const busy = unfinished + this.#outstandingPull > 0;
    if (busy && wanted < Math.max(1, Math.floor(this.capacity / 4))) return 0;
    this.#outstandingPull += wanted;
    return wanted;
  }

  /** A dispatch arrived: one pull request is spent. */
  spentPull(): void {
    if (this.mode === 'pull') this.#outstandingPull = Math.max(0, this.#outstandingPull - 1);
  }

  resetPull(): void {
    this.#outstandingPull = 0;
  }

  /** Something changed (task start/end, tier health, maintenance): heartbeat soon, pull more. */
  changed(): void {
    this.#session?.onChange();
  }

  // ---- controls -------------------------------------------------------------------------------

  /** Operator maintenance: no new work, heartbeat says MAINTENANCE. `null` ends it. */
  setMaintenance(reason: string | null): void {
    this.#maintenance = reason;
    this.#session?.sendCredits();
    this.changed();
  }

  async drain(): Promise<void> {
    this.#draining = true;
    this.#session?.sendCredits();
    this.changed();
    await this.#options.executor.drain?.();
    while (this.runner.unfinished > 0) await new Promise((r) => setTimeout(r, 20));
    this.runner.flushResults();
  }

  /** Apply a WorkerConfig (RegisterAck or Control.configure); zero values leave a setting. */
  applyConfig(c: {
    heartbeatIntervalMs?: number;
    concurrency?: number;
    logLevel?: string;
    dispatchMode?: string | number;
    hybridHigh?: number;
    hybridLow?: number;
  }): string[] {
    const problems: string[] = [];
    if (c.heartbeatIntervalMs) this.heartbeatIntervalMs = Math.max(50, c.heartbeatIntervalMs);
    if (c.concurrency) {
      if (this.#options.executor.setConcurrency) this.#options.executor.setConcurrency(c.concurrency);
      else problems.push('concurrency: this executor cannot change it at run time');
    }
    if (c.logLevel) {
      if (['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(c.logLevel)) {
        if (this.#log.level !== undefined) this.#log.level = c.logLevel;
      } else problems.push(`logLevel: unknown level "${c.logLevel}"`);
    }
    const mode = modeFromWire(c.dispatchMode);
    if (mode) {
      this.policy = mode;
      const forced: LinkMode | undefined = mode === 'hybrid' ? undefined : mode;
      if (forced && forced !== this.mode) {
        this.mode = forced;
        this.#outstandingPull = 0;
      }
    }
    if (c.hybridHigh) this.hybridHigh = c.hybridHigh;
    if (c.hybridLow) this.hybridLow = c.hybridLow;
    return problems;
  }

  /** Live output of a running Master task (from the executor's log sink, when it has one). */
  taskLog(executionId: string, text: string): void {
    const held = this.runner.byExecution(executionId);
    if (!held) return;
    this.logs.push(held.ref, text);
    this.#session?.flushLogs();
  }

  onMasterMessage(_m: MasterMessage__Output): void {
    // Hook for tests and metrics; the session handles every message.
  }

  async #fetchArtifact(digest: string): Promise<FetchedArtifact> {
    const session = this.#session;
    if (!session) throw new Error('not connected to a Master');
    return session.fetchArtifact(digest);
  }

  stats(): LinkStats {
    const usage = { memoryTotalBytes: 0 };
    return {
      state: this.#stopped ? 'stopped' : this.#session?.established ? 'connected' : 'connecting',
      master: this.#session?.established ? this.#session.address : null,
      masterId: this.#session?.masterId ?? null,
      mode: this.mode,
      policy: this.policy,
      status: this.nodeStatus(usage).status,
      unfinishedTasks: this.runner.unfinished,
      outboxPending: this.outbox.count(),
      logDroppedBytes: this.logs.droppedBytes,
      ...this.counters,
    };
  }

  /** A ResultAck: the entry leaves the outbox (removals of one tick share a commit). */
  acked(outboxId: number): void {
    this.#acks.push(outboxId);
  }

  /** For the session: messages go through it. */
  sendNow(message: WorkerMessage): void {
    this.#session?.send(message);
  }
}
