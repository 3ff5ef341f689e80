/**
 * One invocation's life: admit (slots, priority queue, resources) -> pick the tier -> prepare
 * (cached by digest) -> run under limits with the deadline and cancellation owned here -> record.
 * Records are the single source of truth for what happened; every path ends in exactly one
 * final record, persisted before the caller hears about it.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Artifact, SandboxDriver, TierHealth } from '../core/driver.ts';
import { isStrataError, StrataError } from '../core/errors.ts';
import type { ErrorInfo, ExecutionRecord, FinalStatus, RunOutcome, Usage } from '../core/execution.ts';
import { usageOf } from '../core/execution.ts';
import type { ResolvedLimits } from '../core/limits.ts';
import { LogBudget } from '../core/log-budget.ts';
import type { Manifest } from '../core/manifest.ts';
import type { TierName } from '../core/tiers.ts';
import { AdmissionQueue } from './admission-queue.ts';
import { resolveLimits } from './limits.ts';
import { type Placement, pickTier } from './policy.ts';
import type { ExecutionStore } from './records.ts';
import type { ExecutorEvents, ExecutorStats, InvokeRequest, Submission } from './types.ts';

/** What the executor asks of src/resources (kept narrow so tests can pass a fake). */
export interface ResourceGovernor {
  /** Whether an invocation with these requests may start beside the running ones. */
  admission(
    request: { id: string; priority: number; cpu: number; memoryBytes: number },
    running: readonly { id: string; priority: number; cpu: number; memoryBytes: number }[],
  ): { admit: true } | { admit: false; never: boolean; reason: string };
  /** Anomaly flags for a finished invocation's usage (and learn from it). */
  observe(functionKey: string, usage: Usage): string[];
}

export interface ExecutorOptions {
  config: Config;
  drivers: readonly SandboxDriver[];
  records: ExecutionStore;
  logger: Logger;
  governor?: ResourceGovernor;
}

interface Live {
  record: ExecutionRecord;
  request: InvokeRequest;
  artifact: Artifact;
  limits: ResolvedLimits;
  tier: TierName;
  priority: number;
  seq: number;
  controller: AbortController;
  resolve: (record: ExecutionRecord) => void;
  done: Promise<ExecutionRecord>;
  enqueuedAt: number;
  startedAt?: number;
}

export class Executor extends EventEmitter<ExecutorEvents> {
  readonly #config: Config;
  readonly #drivers = new Map<TierName, SandboxDriver>();
  readonly #records: ExecutionStore;
  readonly #logger: Logger;
  readonly #governor: ResourceGovernor | undefined;
  readonly #queue = new AdmissionQueue<Live>();
  readonly #live = new Map<string, Live>();
  readonly #running = new Set<Live>();
  #concurrency: number;
  #seq = 0;
  #draining = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ExecutorOptions) {
    super();
    this.#config = options.config;
    for (const driver of options.drivers) this.#drivers.set(driver.tier, driver);
    this.#records = options.records;
    this.#logger = options.logger;
    this.#governor = options.governor;
    this.#concurrency = options.config.executor.concurrency;
  }

  driver(tier: TierName): SandboxDriver | undefined {
    return this.#drivers.get(tier);
  }

  /** Health of every tier built into this worker. */
  tierHealth(): Partial<Record<TierName, TierHealth>> {
    const health: Partial<Record<TierName, TierHealth>> = {};
    for (const [tier, driver] of this.#drivers) health[tier] = driver.health();
    return health;
  }

  /** Where a function would run now, or why it cannot. */
  placement(manifest: Pick<Manifest, 'runtime' | 'trust'>): Placement {
    // Only the candidate tiers' health is asked for (this runs on every invocation).
    return pickTier(manifest, this.#config.policy, (tier) => this.#drivers.get(tier)?.health());
  }

  /**
   * Deploy-time check: place the function and let its tier validate the code (compile, check
   * imports). Throws StrataError('invalid_code' | 'unsupported_runtime'); a tier that exists but
   * is down now does not block the deploy (the invocation will say so).
   */
  async validate(artifact: Artifact): Promise<Placement> {
    const placement = this.placement(artifact.manifest);
    if (placement.tier === null) {
      if (placement.error.code === 'unsupported_runtime')
        throw new StrataError('unsupported_runtime', placement.error.message);
      return placement;
    }
    await this.#drivers.get(placement.tier)?.prepare(artifact);
    return placement;
  }

  submit(request: InvokeRequest): Submission {
    if (this.#draining)
      throw new StrataError('shutting_down', 'the worker is draining and takes no new invocations; try another worker');
    const { artifact } = request;
    const id = request.executionId ?? randomUUID();
    if (this.#live.has(id)) throw new StrataError('invalid_request', `execution ${id} is already running`);
    const priority = request.priority ?? artifact.manifest.priority;
    const placement = this.placement(artifact.manifest);
    const now = Date.now();
    const record: ExecutionRecord = {
      id,
      function: { name: artifact.name, version: artifact.version, digest: artifact.digest },
      status: 'queued',
      logs: '',
      usage: usageOf({ wallMs: 0 }),
      tier: placement.tier,
      priority,
      source: request.source,
      timings: { queuedMs: 0, enqueuedAt: new Date(now).toISOString(), startedAt: null, finishedAt: null },
    };
    let resolve: (r: ExecutionRecord) => void = () => {};
    const done = new Promise<ExecutionRecord>((r) => {
      resolve = r;
    });
    if (placement.tier === null) {
      this.#finish(record, 'rejected', { error: placement.error });
      resolve(record);
      return { id, done };
    }
    // The caller gave up before submitting (client gone): an abort listener would never fire.
    if (request.signal?.aborted) {
      this.#finish(record, 'killed', { error: { code: 'cancelled', message: 'the invocation was cancelled' } });
      resolve(record);
      return { id, done };
    }
    const limits = resolveLimits(
      artifact.manifest.limits,
      this.#config.limits,
      request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {},
    );
    const live: Live = {
      record,
      request,
      artifact,
      limits,
      tier: placement.tier,
      priority,
      seq: this.#seq++,
      controller: new AbortController(),
      resolve,
      done,
      enqueuedAt: now,
    };
    const canStart = this.#running.size < this.#concurrency && this.#queue.length === 0;
    if (!canStart && this.#queue.length >= this.#config.executor.queueSize) {
      throw new StrataError(
        'capacity_exhausted',
        `the worker is full (${this.#running.size} running, ${this.#queue.length} queued); retry after ${Math.ceil(this.#config.executor.retryAfter / 1000)} s`,
        { retryAfterMs: this.#config.executor.retryAfter },
      );
    }
    this.#live.set(id, live);
    request.signal?.addEventListener('abort', () => void this.cancel(id), { once: true });
    if (request.source === 'http' && request.durable) this.#records.save(record);
    this.#queue.push(live);
    this.#pump();
    return { id, done };
  }

  /** The record of a live invocation (queued or running), if it is one. */
  liveRecord(id: string): ExecutionRecord | undefined {
    return this.#live.get(id)?.record;
  }

  /** Stop an invocation; resolves true once its sandbox is empty, false for an unknown id. */
  async cancel(id: string, reason?: StrataError): Promise<boolean> {
    const live = this.#live.get(id);
    if (!live) return false;
    const why = reason ?? new StrataError('cancelled', 'the invocation was cancelled');
    if (this.#queue.remove(live)) {
      this.#live.delete(id);
      this.#finish(live.record, 'killed', { error: why.toJSON() });
      live.resolve(live.record);
      this.#checkIdle();
      return true;
    }
    live.controller.abort(why);
    await live.done;
    return true;
  }

  async pause(id: string): Promise<void> {
    const live = this.#runningOrThrow(id);
    const driver = this.#drivers.get(live.tier);
    if (!driver?.capabilities.pause || !driver.pause) {
      throw new StrataError('forbidden', `the ${live.tier} tier cannot pause a running invocation; cancel it instead`);
    }
    await driver.pause(id);
  }

  async resume(id: string): Promise<void> {
    const live = this.#runningOrThrow(id);
    const driver = this.#drivers.get(live.tier);
    if (!driver?.capabilities.pause || !driver.resume) {
      throw new StrataError('forbidden', `the ${live.tier} tier cannot pause or resume invocations`);
    }
    await driver.resume(id);
  }

  stats(): ExecutorStats {
    return {
      running: this.#running.size,
      queued: this.#queue.length,
      concurrency: this.#concurrency,
      queueSize: this.#config.executor.queueSize,
      freeSlots: Math.max(0, this.#concurrency - this.#running.size - this.#queue.length),
      draining: this.#draining,
    };
  }

  /** Running invocations with what they hold, for reclamation. */
  runningUse(): { id: string; priority: number; memoryBytes: number; startedAt: number }[] {
    return [...this.#running].map((l) => ({
      id: l.record.id,
      priority: l.priority,
      memoryBytes: l.limits.memoryMb * 1024 ** 2,
      startedAt: l.startedAt ?? l.enqueuedAt,
    }));
  }

  setConcurrency(concurrency: number): void {
    this.#concurrency = Math.max(1, Math.floor(concurrency));
    this.#pump();
  }

  /** Take no new invocations; resolve when every queued and running one has finished. */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stop taking work, let in-flight invocations finish for up to `graceMs`, then cancel the rest. */
  async shutdown(graceMs = this.#config.executor.shutdownGrace): Promise<void> {
    const drained = this.drain();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((r) => {
      timer = setTimeout(() => r('expired'), graceMs);
    });
    if ((await Promise.race([drained, expired])) === 'expired') {
      const why = new StrataError('shutting_down', 'the worker shut down before the invocation finished');
      await Promise.all([...this.#live.keys()].map((id) => this.cancel(id, why)));
    }
    clearTimeout(timer);
  }

  #runningOrThrow(id: string): Live {
    const live = this.#live.get(id);
    if (!live || !this.#running.has(live)) throw new StrataError('not_found', `execution ${id} is not running`);
    return live;
  }

  /** Start queued invocations while slots and resources allow, highest priority first. */
  #pump(): void {
    while (this.#running.size < this.#concurrency) {
      const next = this.#queue.shift();
      if (!next) return;
      if (this.#governor) {
        const running = [...this.#running].map(requestOf);
        const decision = this.#governor.admission(requestOf(next), running);
        if (!decision.admit) {
          if (decision.never || running.length === 0) {
            this.#live.delete(next.record.id);
            this.#finish(next.record, 'rejected', { error: { code: 'capacity_exhausted', message: decision.reason } });
            next.resolve(next.record);
            continue;
          }
          this.#queue.push(next);
          return;
        }
      }
      void this.#start(next);
    }
  }

  async #start(live: Live): Promise<void> {
    const { record, limits, artifact } = live;
    this.#running.add(live);
    live.startedAt = Date.now();
    record.status = 'running';
    record.timings.startedAt = new Date(live.startedAt).toISOString();
    record.timings.queuedMs = live.startedAt - live.enqueuedAt;
    this.emit('start', record);
    const logs = new LogBudget(
      limits.logBytes,
      this.listenerCount('log') > 0 ? (text) => this.emit('log', record.id, text) : undefined,
    );
    const deadline = live.startedAt + limits.timeoutMs;
    const timer = setTimeout(
      () =>
        live.controller.abort(
          new StrataError('timeout', `the function did not finish within its ${limits.timeoutMs} ms deadline`),
        ),
      limits.timeoutMs,
    );
    let outcome: RunOutcome;
    const driver = this.#drivers.get(live.tier) as SandboxDriver;
    try {
      const prepared = await driver.prepare(artifact);
      outcome = await driver.run(
        prepared,
        {
          id: record.id,
          input: live.request.input,
          inputJson: live.request.inputJson ?? JSON.stringify(live.request.input ?? null),
          priority: live.priority,
        },
        { deadline, limits, signal: live.controller.signal, logs },
      );
    } catch (err) {
      outcome = this.#outcomeOfError(err, live);
    } finally {
      clearTimeout(timer);
    }
    record.logs = logs.text();
    const flags =
      outcome.status !== 'killed'
        ? this.#governor?.observe(`${artifact.name}@${artifact.version}`, outcome.usage)
        : undefined;
    if (flags && flags.length > 0) record.anomalies = flags;
    // The slot is free now; the record stays live (visible to GET) until it is on disk.
    this.#running.delete(live);
    this.#pump();
    this.#fill(record, outcome.status, outcome);
    try {
      // Group commit: records finishing in the same tick share one transaction.
      await this.#records.saveSoon(record);
    } catch (err) {
      this.#logger.error({ err, executionId: record.id }, 'could not persist an execution record');
    }
    this.#live.delete(record.id);
    this.emit('finish', record);
    live.resolve(record);
    this.#checkIdle();
  }

  #outcomeOfError(err: unknown, live: Live): RunOutcome {
    const wallMs = Date.now() - (live.startedAt ?? Date.now());
    if (isStrataError(err)) {
      // Code the tier refuses (compile error, bad module) is refused before it ran.
      const status = err.code === 'invalid_code' || err.code === 'tier_unavailable' ? 'rejected' : 'killed';
      return { status: status as RunOutcome['status'], error: err.toJSON(), usage: usageOf({ wallMs }) };
    }
    this.#logger.error({ err, executionId: live.record.id, tier: live.tier }, 'sandbox driver failed');
    return {
      status: 'killed',
      error: {
        code: 'internal',
        message: `the ${live.tier} tier failed: ${err instanceof Error ? err.message : String(err)}`,
      },
      usage: usageOf({ wallMs }),
    };
  }

  /** Set a record's final fields. */
  #fill(
    record: ExecutionRecord,
    status: FinalStatus,
    outcome: { result?: unknown; error?: ErrorInfo; usage?: Usage },
  ): void {
    record.status = status;
    if (status === 'succeeded') record.result = outcome.result ?? null;
    if (outcome.error) record.error = { code: outcome.error.code, message: outcome.error.message };
    if (outcome.usage) record.usage = outcome.usage;
    record.timings.finishedAt = new Date().toISOString();
  }

  /** End an invocation that never ran (rejected, cancelled while queued): save at once, announce. */
  #finish(
    record: ExecutionRecord,
    status: FinalStatus,
    outcome: { result?: unknown; error?: ErrorInfo; usage?: Usage },
  ): void {
    this.#fill(record, status, outcome);
    try {
      this.#records.save(record);
    } catch (err) {
      this.#logger.error({ err, executionId: record.id }, 'could not persist an execution record');
    }
    this.emit('finish', record);
  }

  #checkIdle(): void {
    if (this.#live.size > 0) return;
    for (const waiter of this.#idleWaiters.splice(0)) waiter();
  }
}

/**
 * What an invocation reserves for admission. A sandbox with processes of its own (process,
 * docker) and no CPU limit reserves one core; isolate and WASM invocations share their hosts'
 * cores (the host pool bounds them), so they reserve only the CPU they asked for.
 */
const requestOf = (l: Live) => ({
  id: l.record.id,
  priority: l.priority,
  cpu: l.limits.cpu ?? (l.tier === 'process' || l.tier === 'docker' ? 1 : 0),
  memoryBytes: l.limits.memoryMb * 1024 ** 2,
});
