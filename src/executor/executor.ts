/**
 * One invocation's life: admit (slots, priority queue, resources) -> pre hooks -> prepare (cached
 * by digest) -> run under limits with the deadline and cancellation owned here -> post hooks ->
 * record (sealed on its own, then group-committed). Records are the single source of truth for
 * what happened; every path ends in exactly one final record, persisted before the caller hears
 * about it, with its placement, its start and (when it did not succeed) its cause of death.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Artifact, CompileReport, SandboxDriver, TierHealth } from '../core/driver.ts';
import { isStrataError, StrataError } from '../core/errors.ts';
import type { ErrorInfo, ExecutionRecord, FinalStatus, RunOutcome, Usage } from '../core/execution.ts';
import { usageOf } from '../core/execution.ts';
import type { ResolvedLimits } from '../core/limits.ts';
import { LogBudget } from '../core/log-budget.ts';
import { type Manifest, networkLevelOf } from '../core/manifest.ts';
import { capText } from '../core/text-cap.ts';
import type { Runtime, TierName } from '../core/tiers.ts';
import { AdmissionQueue } from './admission-queue.ts';
import { deathOf } from './death.ts';
import { DriverRegistry } from './driver-registry.ts';
import { pickExtraTier } from './extra-tier-placement.ts';
import { resolveLimits } from './limits.ts';
import { permissionRefusal } from './permissions.ts';
import { type HookSnapshot, MonitorBus, NO_HOOKS, runPost, runPre, snapshotOf } from './phase-runner.ts';
import type { MonitorEvent, PhaseHooks } from './phases.ts';
import { type Placement, type PlacementRequest, pickTier } from './policy.ts';
import { sealRecord } from './record-seal.ts';
import type { ExecutionStore } from './records.ts';
import { TierWatch } from './tier-watch.ts';
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
  /** The tiers: a list, or the registry executor plugins add their tiers to at run time. */
  drivers: readonly SandboxDriver[] | DriverRegistry;
  records: ExecutionStore;
  logger: Logger;
  governor?: ResourceGovernor;
  /** Pre, post and monitor hooks (plugins, governance); none when absent. */
  hooks?: PhaseHooks;
  /** A stronger tier an artifact must run in (governance: a review warning), with the reason recorded. */
  escalation?: (artifact: Pick<Artifact, 'digest' | 'manifest'>) => PlacementRequest['escalate'];
  /**
   * A tenant's share of this worker (src/tenants quotas): invocations running at once and waiting.
   * Past `queued` (0 when only `concurrency` is set) submit throws quota_exceeded (429).
   */
  tenantAdmission?: (tenant: string) => TenantShare | undefined;
}

export interface TenantShare {
  concurrency?: number;
  queued?: number;
}

const DEFAULT_TENANT = 'default';

interface Live {
  record: ExecutionRecord;
  request: InvokeRequest;
  tenant: string;
  artifact: Artifact;
  limits: ResolvedLimits;
  tier: TierName;
  /** The tier's driver, taken at submit: a plugin tier unloaded meanwhile still finishes this run. */
  driver: SandboxDriver;
  /** Reserves a core for admission when it asks no CPU limit (its tier has processes of its own). */
  reservesCore: boolean;
  hooks: HookSnapshot;
  priority: number;
  seq: number;
  controller: AbortController;
  resolve: (record: ExecutionRecord) => void;
  done: Promise<ExecutionRecord>;
  enqueuedAt: number;
  startedAt?: number;
  /** The outcome is in the record, the post hooks and the save are not done yet. */
  finishing?: boolean;
}

/** An ending, including one that never reached a tier (rejected by a pre hook). */
type Ending = Omit<RunOutcome, 'status'> & { status: FinalStatus };

export class Executor extends EventEmitter<ExecutorEvents> {
  readonly #config: Config;
  readonly #drivers: DriverRegistry;
  readonly #preparing = new Map<string, Promise<unknown>>();
  readonly #records: ExecutionStore;
  readonly #logger: Logger;
  readonly #governor: ResourceGovernor | undefined;
  readonly #queue = new AdmissionQueue<Live>();
  readonly #live = new Map<string, Live>();
  readonly #running = new Set<Live>();
  readonly #hooks: PhaseHooks | undefined;
  readonly #escalation: ExecutorOptions['escalation'];
  readonly #tenantAdmission: ExecutorOptions['tenantAdmission'];
  /** Per tenant: invocations running, and waiting in the queue (fair pick, quotas). */
  readonly #tenantRunning = new Map<string, number>();
  readonly #tenantQueued = new Map<string, number>();
  readonly #monitor: MonitorBus;
  readonly #tierWatch: TierWatch;
  /** Bounds for sealing records that never got limits of their own (refused before they ran). */
  readonly #sealLimits: Pick<ResolvedLimits, 'resultBytes' | 'logBytes' | 'errorBytes'>;
  #concurrency: number;
  #seq = 0;
  #draining = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ExecutorOptions) {
    super();
    this.#config = options.config;
    this.#drivers = options.drivers instanceof DriverRegistry ? options.drivers : new DriverRegistry(options.drivers);
    this.#records = options.records;
    this.#logger = options.logger;
    this.#governor = options.governor;
    this.#hooks = options.hooks;
    this.#escalation = options.escalation;
    this.#tenantAdmission = options.tenantAdmission;
    this.#concurrency = options.config.executor.concurrency;
    const { default: defaults, errorBytes } = options.config.limits;
    this.#sealLimits = { resultBytes: defaults.resultBytes, logBytes: defaults.logBytes, errorBytes };
    this.#monitor = new MonitorBus({
      onError: (hook, err, event) =>
        this.#logger.warn(
          { hook, event: event.type, err: (err as Error)?.message ?? String(err) },
          'monitor hook threw',
        ),
    });
    this.#tierWatch = new TierWatch(this.#drivers.values(), {
      pollMs: options.config.executor.healthPoll,
      onChange: (tier, health) => {
        this.emit('tier', tier, health);
        this.monitor({ type: 'tier', at: new Date().toISOString(), data: { tier, health } });
      },
    });
    // Tiers registered later (executor plugins) are watched the same way; removed ones no more.
    this.#drivers.onChange((change) => {
      if (change.type === 'add') this.#tierWatch.watch(change.driver);
      else this.#tierWatch.unwatch(change.driver.tier);
    });
  }

  /** The tier registry (executor plugins add and remove their tiers here). */
  get drivers(): DriverRegistry {
    return this.#drivers;
  }

  /** Deliver an event to the monitor hooks (resources' samples come in here), off the caller's path. */
  monitor(event: MonitorEvent, hooks: HookSnapshot | undefined = undefined): void {
    const monitors = hooks ? hooks.monitor : this.#hooks ? this.#hooks.monitor() : NO_HOOKS.monitor;
    this.#monitor.emit(monitors, event);
  }

  /** Monitor hook calls that threw, and events dropped because monitors fell behind. */
  hookStats(): { monitorErrors: number; monitorDropped: number } {
    return { monitorErrors: this.#monitor.errors, monitorDropped: this.#monitor.dropped };
  }

  /** Resolves once queued monitor events were delivered (tests, shutdown). */
  monitorSettled(): Promise<void> {
    return this.#monitor.settled();
  }

  driver(tier: TierName): SandboxDriver | undefined {
    return this.#drivers.get(tier);
  }

  /** Health of every tier built into this worker. */
  tierHealth(): Partial<Record<TierName, TierHealth>> {
    const health: Partial<Record<TierName, TierHealth>> = {};
    for (const [tier, driver] of this.#drivers.entries()) health[tier] = this.#healthOf(driver);
    return health;
  }

  /**
   * Where a function would run now, or why it cannot: by its runtime, trust and the network it
   * asks, from what each tier declares (capabilities) and how it is (health).
   */
  placement(
    manifest: Pick<Manifest, 'runtime' | 'trust'> & { permissions?: Pick<Manifest['permissions'], 'network'> },
    escalate?: PlacementRequest['escalate'],
  ): Placement {
    const request: PlacementRequest = {
      runtime: manifest.runtime as Runtime,
      trust: manifest.trust,
      network: networkLevelOf(manifest.permissions?.network),
      ...(escalate ? { escalate } : {}),
    };
    // A runtime the policy table has no tier for may be run by a tier an executor plugin added.
    if (!this.#config.policy.table[manifest.runtime as Runtime]?.[manifest.trust]?.length) {
      const extra = this.#drivers.extraTiersFor(manifest.runtime);
      if (extra.length > 0) return pickExtraTier(request, extra, (d) => this.#healthOf(d));
    }
    // Only the candidate tiers are asked for their health (this runs on every invocation).
    return pickTier(request, this.#config.policy, (tier) => {
      const driver = this.#drivers.get(tier);
      return driver && { capabilities: driver.capabilities, health: this.#healthOf(driver) };
    });
  }

  /** Where an artifact (a stored version) runs now: placement with the escalation governance asks. */
  placementOf(artifact: Pick<Artifact, 'digest' | 'manifest'>): Placement {
    return this.placement(artifact.manifest, this.#escalation?.(artifact));
  }

  #healthOf(driver: SandboxDriver): TierHealth {
    const health = driver.health();
    this.#tierWatch.note(driver.tier, health);
    return health;
  }

  /**
   * Deploy-time check: the node's permission cap, placement, and the tier's own review of the
   * code (compile, check imports, refuse what it cannot enforce). Throws StrataError
   * ('permission_denied' | 'invalid_code' | 'unsupported_runtime'); a tier that exists but is
   * down now does not block the deploy (the invocation will say so).
   */
  async validate(artifact: Artifact): Promise<Placement & { compile?: CompileReport }> {
    const refusal = permissionRefusal(artifact.manifest, this.#config.policy.permissions);
    if (refusal) throw refusal;
    const placement = this.placementOf(artifact);
    if (placement.tier === null) {
      const { code, message } = placement.error;
      if (code === 'unsupported_runtime' || code === 'permission_denied') throw new StrataError(code, message);
      return placement;
    }
    const prepared = await this.#drivers.get(placement.tier)?.prepare(artifact);
    const compile = compileReportOf(prepared);
    return compile ? { ...placement, compile } : placement;
  }

  submit(request: InvokeRequest): Submission {
    if (this.#draining)
      throw new StrataError('shutting_down', 'the worker is draining and takes no new invocations; try another worker');
    const { artifact } = request;
    const id = request.executionId ?? randomUUID();
    if (this.#live.has(id)) throw new StrataError('invalid_request', `execution ${id} is already running`);
    const priority = request.priority ?? artifact.manifest.priority;
    const placement = this.placementOf(artifact);
    const now = Date.now();
    const record: ExecutionRecord = {
      id,
      function: {
        name: artifact.name,
        version: artifact.version,
        digest: artifact.digest,
        ...(request.alias !== undefined ? { alias: request.alias } : {}),
      },
      status: 'queued',
      logs: '',
      usage: usageOf({ wallMs: 0 }),
      tier: placement.tier,
      // A placement that found a tier is already {tier, requested, reason?}; a refusal also carries its error.
      placement:
        placement.tier !== null
          ? placement
          : { tier: null, requested: placement.requested, ...(placement.reason ? { reason: placement.reason } : {}) },
      priority,
      source: request.source,
      timings: { queuedMs: 0, enqueuedAt: new Date(now).toISOString(), startedAt: null, finishedAt: null },
    };
    if (request.tenant !== undefined) record.tenant = request.tenant;
    let resolve: (r: ExecutionRecord) => void = () => {};
    const done = new Promise<ExecutionRecord>((r) => {
      resolve = r;
    });
    // A manifest that arrived without a deploy here (a Master's dispatch) is held to the same cap.
    const refusal = permissionRefusal(artifact.manifest, this.#config.policy.permissions);
    if (refusal || placement.tier === null) {
      this.#finish(record, request, 'rejected', {
        error: refusal ? refusal.toJSON() : (placement as { error: ErrorInfo }).error,
      });
      resolve(record);
      return { id, done };
    }
    // The caller gave up before submitting (client gone): an abort listener would never fire.
    if (request.signal?.aborted) {
      this.#finish(record, request, 'killed', {
        error: { code: 'cancelled', message: 'the invocation was cancelled' },
      });
      resolve(record);
      return { id, done };
    }
    const limits = resolveLimits(
      artifact.manifest.limits,
      this.#config.limits,
      request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {},
    );
    const tenant = request.tenant ?? DEFAULT_TENANT;
    const live: Live = {
      record,
      request,
      tenant,
      artifact,
      limits,
      tier: placement.tier,
      driver: this.#drivers.get(placement.tier) as SandboxDriver,
      reservesCore: this.#drivers.get(placement.tier)?.capabilities.ownProcesses === true,
      hooks: snapshotOf(this.#hooks),
      priority,
      seq: this.#seq++,
      controller: new AbortController(),
      resolve,
      done,
      enqueuedAt: now,
    };
    const canStart = this.#running.size < this.#concurrency && this.#queue.length === 0;
    if (!canStart && this.#queue.length >= this.#config.executor.queueSize) {
      live.hooks.release?.();
      throw new StrataError(
        'capacity_exhausted',
        `the worker is full (${this.#running.size} running, ${this.#queue.length} queued); retry after ${Math.ceil(this.#config.executor.retryAfter / 1000)} s`,
        { retryAfterMs: this.#config.executor.retryAfter },
      );
    }
    const share = this.#tenantAdmission?.(tenant);
    if (share) this.#checkShare(tenant, share, canStart);
    this.#live.set(id, live);
    request.signal?.addEventListener('abort', () => void this.cancel(id), { once: true });
    if (request.source === 'http' && request.durable) this.#records.save(record);
    this.#enqueue(live);
    this.#pump();
    return { id, done };
  }

  /** The record of a live invocation (queued or running), if it is one. */
  liveRecord(id: string): ExecutionRecord | undefined {
    const live = this.#live.get(id);
    if (!live) return undefined;
    // Between the outcome and the saved record the post hooks may still change the result and
    // logs (redaction): until then a reader sees it running, never what a hook is about to hide.
    if (live.finishing) {
      const { result: _result, error: _error, death: _death, ...rest } = live.record;
      return { ...rest, status: 'running', logs: '', timings: { ...rest.timings, finishedAt: null } };
    }
    return live.record;
  }

  /** Stop an invocation; resolves true once its sandbox is empty, false for an unknown id. */
  async cancel(id: string, reason?: StrataError): Promise<boolean> {
    const live = this.#live.get(id);
    if (!live) return false;
    const why = reason ?? new StrataError('cancelled', 'the invocation was cancelled');
    if (this.#queue.remove(live)) {
      bump(this.#tenantQueued, live.tenant, -1);
      this.#live.delete(id);
      this.#finish(live.record, live.request, 'killed', { error: why.toJSON() });
      live.hooks.release?.();
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
    this.#tierWatch.stop();
    await this.#monitor.settled();
  }

  #runningOrThrow(id: string): Live {
    const live = this.#live.get(id);
    if (!live || !this.#running.has(live)) throw new StrataError('not_found', `execution ${id} is not running`);
    return live;
  }

  /**
   * A tenant over its share: running at its concurrency (or the node full) and its queue used up.
   * 429 quota_exceeded, not 503: the node has room, this tenant does not.
   */
  #checkShare(tenant: string, share: TenantShare, nodeCanStart: boolean): void {
    const running = this.#tenantRunning.get(tenant) ?? 0;
    const queued = this.#tenantQueued.get(tenant) ?? 0;
    const mayRun = share.concurrency === undefined || running < share.concurrency;
    if (mayRun && nodeCanStart) return;
    const maxQueued = share.queued ?? (share.concurrency !== undefined ? 0 : Number.POSITIVE_INFINITY);
    if (queued < maxQueued) return;
    throw new StrataError(
      'quota_exceeded',
      `tenant ${tenant} has ${running} invocations running and ${queued} waiting, its quota (concurrency ${share.concurrency ?? 'unlimited'}, queued ${share.queued ?? (share.concurrency !== undefined ? 0 : 'unlimited')}); retry after ${Math.ceil(this.#config.executor.retryAfter / 1000)} s`,
      {
        tenant,
        quota: !mayRun && maxQueued === 0 ? 'concurrency' : 'queued',
        retryAfterMs: this.#config.executor.retryAfter,
      },
    );
  }

  #enqueue(live: Live): void {
    this.#queue.push(live);
    bump(this.#tenantQueued, live.tenant, 1);
  }

  /**
   * The next invocation to start: the highest priority first; within a priority, of the tenants
   * under their concurrency, the one with the fewest running (first come within it), so a tenant
   * that floods the queue cannot starve another. One tenant queued: simply the first.
   */
  #takeNext(): Live | undefined {
    const tenantsWaiting = this.#tenantQueued.size;
    const seen = new Set<string>();
    let best: Live | undefined;
    let bestRunning = Number.POSITIVE_INFINITY;
    for (const item of this.#queue) {
      if (best && item.priority < best.priority) break;
      if (seen.has(item.tenant)) continue;
      seen.add(item.tenant);
      const running = this.#tenantRunning.get(item.tenant) ?? 0;
      const concurrency = this.#tenantAdmission?.(item.tenant)?.concurrency;
      if (concurrency === undefined || running < concurrency) {
        if (running < bestRunning) {
          best = item;
          bestRunning = running;
        }
        if (running === 0) break;
      }
      if (seen.size >= tenantsWaiting) break;
    }
    if (!best) return undefined;
    this.#queue.remove(best);
    bump(this.#tenantQueued, best.tenant, -1);
    return best;
  }

  /** Start queued invocations while slots and resources allow, highest priority first. */
  #pump(): void {
    while (this.#running.size < this.#concurrency) {
      const next = this.#takeNext();
      if (!next) return;
      if (this.#governor) {
        const running = [...this.#running].map(requestOf);
        const decision = this.#governor.admission(requestOf(next), running);
        if (!decision.admit) {
          if (decision.never || running.length === 0) {
            this.#live.delete(next.record.id);
            this.#finish(next.record, next.request, 'rejected', {
              error: { code: 'capacity_exhausted', message: decision.reason },
            });
            next.hooks.release?.();
            next.resolve(next.record);
            continue;
          }
          this.#enqueue(next);
          return;
        }
      }
      void this.#start(next);
    }
  }

  async #start(live: Live): Promise<void> {
    const { record, limits, artifact, hooks } = live;
    this.#running.add(live);
    bump(this.#tenantRunning, live.tenant, 1);
    live.startedAt = Date.now();
    record.status = 'running';
    record.timings.startedAt = new Date(live.startedAt).toISOString();
    record.timings.queuedMs = live.startedAt - live.enqueuedAt;
    this.emit('start', record);
    if (hooks.monitor.length > 0)
      this.monitor(eventOf('start', record, { function: record.function, tier: live.tier }), hooks);
    const tapped = this.listenerCount('log') > 0 || hooks.monitor.length > 0;
    const logs = new LogBudget(limits.logBytes, tapped ? (text) => this.#onLog(live, text) : undefined);
    let deadline = live.startedAt + limits.timeoutMs;
    const onDeadline = () =>
      live.controller.abort(
        new StrataError('timeout', `the function did not finish within its ${limits.timeoutMs} ms deadline`),
      );
    // Bounds the hooks and prepare; re-armed once prepared, so a compile is not charged to the code.
    let timer = setTimeout(onDeadline, limits.timeoutMs);
    let outcome: Ending | undefined;
    let input = live.request.input;
    let inputJson = live.request.inputJson;
    if (hooks.pre.length > 0) {
      const pre = await this.#pre(live);
      if ('ending' in pre) outcome = pre.ending;
      else if (pre.replaced) {
        input = pre.input;
        inputJson = undefined;
      }
    }
    // When the code began and when prepare started: the record's start.initMs when a tier gives none.
    let prepareAt: number | undefined;
    let codeAt: number | undefined;
    const driver = live.driver;
    if (!outcome) {
      try {
        prepareAt = performance.now();
        const prepared = await this.#prepare(driver, artifact);
        codeAt = performance.now();
        if (!live.controller.signal.aborted) {
          clearTimeout(timer);
          deadline = Date.now() + limits.timeoutMs;
          timer = setTimeout(onDeadline, limits.timeoutMs);
        }
        const json = inputJson ?? JSON.stringify(input ?? null);
        outcome = await driver.run(
          prepared,
          { id: record.id, input, inputJson: json, priority: live.priority },
          {
            deadline,
            limits,
            signal: live.controller.signal,
            logs,
            onStart: () => {
              codeAt = performance.now();
            },
          },
        );
      } catch (err) {
        outcome = this.#outcomeOfError(err, live);
      }
    }
    clearTimeout(timer);
    record.logs = logs.text();
    const flags =
      outcome.status !== 'killed' && outcome.status !== 'rejected'
        ? this.#governor?.observe(`${baselineKey(live)}@${artifact.version}`, outcome.usage)
        : undefined;
    if (flags && flags.length > 0) record.anomalies = flags;
    // The slot is free now; the record stays live (visible to GET) until it is on disk.
    this.#running.delete(live);
    bump(this.#tenantRunning, live.tenant, -1);
    this.#pump();
    live.finishing = true;
    this.#fill(record, outcome.status, outcome, limits);
    if (prepareAt !== undefined && outcome.status !== 'rejected') {
      record.start = outcome.start ?? {
        kind: 'fresh',
        initMs: Math.round(((codeAt ?? prepareAt) - prepareAt) * 1000) / 1000,
      };
    }
    if (hooks.post.length > 0) {
      await runPost(hooks.post, record, this.#config.executor.hookBudget, (text) =>
        capText(text, limits.logBytes, 'log output'),
      );
    }
    const json = sealRecord(record, limits, this.#config.limits.resultDepth);
    try {
      // Group commit: records finishing in the same tick share one transaction.
      await this.#records.saveSoon(record, json);
    } catch (err) {
      this.#logger.error({ err, executionId: record.id }, 'could not persist an execution record');
    }
    this.#live.delete(record.id);
    this.emit('finish', record);
    this.#logEnd(record, live.request);
    if (hooks.monitor.length > 0) this.monitor(eventOf('finish', record, record), hooks);
    hooks.release?.();
    live.resolve(record);
    this.#checkIdle();
  }

  /**
   * One prepare per tier and digest at a time: a burst of invocations of a function not yet
   * prepared shares the first one's (issue 16 item 11: each used to compile it again).
   */
  #prepare(driver: SandboxDriver, artifact: Artifact): Promise<unknown> {
    const key = `${driver.tier}:${artifact.digest}`;
    let pending = this.#preparing.get(key);
    if (!pending) {
      pending = Promise.resolve().then(() => driver.prepare(artifact));
      this.#preparing.set(key, pending);
      const clear = () => {
        if (this.#preparing.get(key) === pending) this.#preparing.delete(key);
      };
      pending.then(clear, clear);
    }
    return pending;
  }

  /** The pre phase: the hooks see the invocation and may replace its input or end it. */
  async #pre(live: Live): Promise<{ ending: Ending } | { input: unknown; replaced: boolean }> {
    const { record, limits } = live;
    const view = {
      function: {
        name: record.function.name,
        version: record.function.version,
        ...(live.artifact.manifest.inputSchema ? { inputSchema: live.artifact.manifest.inputSchema } : {}),
      },
      ...(record.tenant !== undefined ? { tenant: record.tenant } : {}),
      input: live.request.input,
      limits: { ...limits },
    };
    const pre = await runPre(live.hooks.pre, view, this.#config.executor.hookBudget, live.controller.signal);
    const usage = usageOf({ wallMs: Date.now() - (live.startedAt ?? Date.now()) });
    if (!pre.ok) {
      if (!pre.aborted) return { ending: { status: 'rejected', error: pre.error, usage } };
      return { ending: { status: pre.error.code === 'timeout' ? 'timeout' : 'killed', error: pre.error, usage } };
    }
    if (pre.replaced) {
      try {
        JSON.stringify(pre.input ?? null);
      } catch (err) {
        const message = `a pre hook replaced the input with something that is not JSON: ${(err as Error).message}`;
        return { ending: { status: 'rejected', error: { code: 'plugin_failed', message }, usage } };
      }
    }
    return { input: pre.input, replaced: pre.replaced };
  }

  #onLog(live: Live, text: string): void {
    if (this.listenerCount('log') > 0) this.emit('log', live.record.id, text);
    if (live.hooks.monitor.length > 0) this.monitor(eventOf('log', live.record, { text }), live.hooks);
  }

  #outcomeOfError(err: unknown, live: Live): Ending {
    const wallMs = Date.now() - (live.startedAt ?? Date.now());
    if (isStrataError(err)) {
      // What the tier refuses before the code runs (compile error, bad module, a permission it
      // cannot enforce) is refused, not killed.
      const refused = REFUSED_AT_PREPARE.has(err.code);
      return { status: refused ? 'rejected' : 'killed', error: err.toJSON(), usage: usageOf({ wallMs }) };
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

  /** Set a record's final fields, its cause of death included. */
  #fill(
    record: ExecutionRecord,
    status: FinalStatus,
    outcome: { result?: unknown; error?: ErrorInfo; usage?: Usage; death?: RunOutcome['death'] },
    limits?: ResolvedLimits,
  ): void {
    record.status = status;
    if (status === 'succeeded') record.result = outcome.result ?? null;
    if (outcome.error) record.error = { code: outcome.error.code, message: outcome.error.message };
    if (outcome.usage) record.usage = outcome.usage;
    const at = new Date().toISOString();
    record.timings.finishedAt = at;
    const death = deathOf(record, outcome.death, limits, at);
    if (death) record.death = death;
  }

  /** End an invocation that never ran (rejected, cancelled while queued): save at once, announce. */
  #finish(
    record: ExecutionRecord,
    request: InvokeRequest,
    status: FinalStatus,
    outcome: { result?: unknown; error?: ErrorInfo; usage?: Usage },
  ): void {
    this.#fill(record, status, outcome);
    try {
      this.#records.save(record, sealRecord(record, this.#sealLimits, this.#config.limits.resultDepth));
    } catch (err) {
      this.#logger.error({ err, executionId: record.id }, 'could not persist an execution record');
    }
    this.emit('finish', record);
    this.#logEnd(record, request);
  }

  /** Every invocation's one info line, whatever path it came by (HTTP sync or async, a Master task). */
  #logEnd(record: ExecutionRecord, request: InvokeRequest): void {
    const { function: fn, timings } = record;
    this.#logger.info(
      {
        ...(request.requestId !== undefined ? { requestId: request.requestId } : {}),
        executionId: record.id,
        source: record.source,
        function: `${fn.name}@${fn.version}`,
        ...(fn.alias !== undefined ? { alias: fn.alias } : {}),
        status: record.status,
        ...(record.error ? { code: record.error.code } : {}),
        tier: record.tier,
        ms: timings.finishedAt ? Date.parse(timings.finishedAt) - Date.parse(timings.enqueuedAt) : 0,
        ...(request.durable ? { async: true } : {}),
      },
      'invocation',
    );
  }

  #checkIdle(): void {
    if (this.#live.size > 0) return;
    for (const waiter of this.#idleWaiters.splice(0)) waiter();
  }
}

/** A function's usage baseline is its tenant's own (the default tenant keeps the bare name). */
const baselineKey = (l: Live) => (l.tenant === DEFAULT_TENANT ? l.artifact.name : `${l.tenant}/${l.artifact.name}`);

/** Add `delta` to a per-tenant count, dropping tenants that reach zero (the maps stay small). */
function bump(counts: Map<string, number>, tenant: string, delta: number): void {
  const next = (counts.get(tenant) ?? 0) + delta;
  if (next > 0) counts.set(tenant, next);
  else counts.delete(tenant);
}

/**
 * What an invocation reserves for admission. A sandbox with processes of its own
 * (capabilities.ownProcesses) and no CPU limit reserves one core; invocations sharing their
 * hosts' cores (the host pool bounds them) reserve only the CPU they asked for.
 */
const requestOf = (l: Live) => ({
  id: l.record.id,
  priority: l.priority,
  cpu: l.limits.cpu ?? (l.reservesCore ? 1 : 0),
  memoryBytes: l.limits.memoryMb * 1024 ** 2,
});

/** Codes a tier's prepare() refuses with: the invocation never ran, so it is `rejected`. */
const REFUSED_AT_PREPARE = new Set<string>([
  'invalid_code',
  'tier_unavailable',
  'permission_denied',
  'unsupported_runtime',
]);

function eventOf(type: MonitorEvent['type'], record: ExecutionRecord, data: unknown): MonitorEvent {
  return { type, at: new Date().toISOString(), executionId: record.id, data };
}

/** The compile report a tier's prepared value carries (the wasm tier's `compile`), if it is one. */
function compileReportOf(prepared: unknown): CompileReport | undefined {
  const report = (prepared as { compile?: Partial<CompileReport> } | undefined)?.compile;
  if (!report || typeof report.ms !== 'number' || typeof report.cached !== 'boolean') return undefined;
  return { cached: report.cached, ms: report.ms, steps: { ...(report.steps ?? {}) } };
}
