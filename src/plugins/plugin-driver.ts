/**
 * An executor plugin's tier as the executor sees it: a SandboxDriver (src/core/driver.ts) whose
 * calls go to the plugin's thread. The executor places, limits, accounts and health-checks it
 * like the built-in tiers; this side owns the deadline (a run that outlives it plus a grace ends
 * `timeout` whatever the thread does) and checks every outcome the thread reports.
 */
import type {
  Artifact,
  DriverCapabilities,
  Invocation,
  RunOptions,
  SandboxDriver,
  TierHealth,
} from '../core/driver.ts';
import { abortError } from '../core/driver.ts';
import { type ErrorCode, StrataError } from '../core/errors.ts';
import { type RunOutcome, USAGE_FIELDS, type UsageField, usageOf } from '../core/execution.ts';
import type { TierName } from '../core/tiers.ts';
import { outcomeSchema, type Ready } from './protocol.ts';
import type { PluginThread } from './thread.ts';

/** Codes a plugin tier may put in an outcome; anything else becomes function_error. */
const OUTCOME_CODES = new Set<string>([
  'function_error',
  'timeout',
  'memory_exceeded',
  'limit_exceeded',
  'result_too_large',
  'result_not_serializable',
  'invalid_code',
  'cancelled',
]);

/** How long after the deadline a thread may take to answer a run before this side gives up on it. */
const RUN_GRACE_MS = 1000;

export class PluginDriver implements SandboxDriver<number> {
  // A plugin tier's name is not one of the four built-in names; the executor keys tiers by name.
  readonly tier: TierName;
  readonly capabilities: DriverCapabilities;
  readonly plugin: string;
  readonly #thread: PluginThread;
  readonly #budgetMs: number;
  #health: TierHealth;
  #listeners = new Set<(h: TierHealth) => void>();
  #runs = new Map<number, { options: RunOptions }>();
  #nextRun = 1;
  #prepared = new Map<string, Promise<number>>();
  #poll: NodeJS.Timeout | undefined;
  #onFailure: (why: string) => void;

  constructor(options: {
    plugin: string;
    info: NonNullable<Ready['driver']>;
    thread: PluginThread;
    budgetMs: number;
    onFailure: (why: string) => void;
  }) {
    const { info } = options;
    this.plugin = options.plugin;
    this.tier = info.tier as TierName;
    const measures = info.capabilities.measures.filter((m): m is UsageField =>
      (USAGE_FIELDS as readonly string[]).includes(m),
    );
    this.capabilities = {
      runtimes: info.capabilities.runtimes as DriverCapabilities['runtimes'],
      measures: ['wallMs', ...measures.filter((m) => m !== 'wallMs')],
      pause: false,
      enforces: info.capabilities.enforces as DriverCapabilities['enforces'],
      network: info.capabilities.network,
      ownProcesses: info.capabilities.ownProcesses,
    };
    this.#thread = options.thread;
    this.#budgetMs = options.budgetMs;
    this.#health = info.health;
    this.#onFailure = options.onFailure;
  }

  /** Health pushed by the thread (driver.onHealthChange). */
  setHealth(health: TierHealth): void {
    const before = this.#health;
    this.#health = health;
    if (before.available !== health.available || before.reason !== health.reason)
      for (const listener of this.#listeners) listener(health);
  }

  onRunLog(runId: number, text: string): void {
    this.#runs.get(runId)?.options.logs.write(text);
  }

  onRunStart(runId: number): void {
    this.#runs.get(runId)?.options.onStart?.();
  }

  async start(): Promise<void> {
    await this.#thread.call('driver.start', [], this.#budgetMs);
    // A thread that dies or stops answering makes the tier unavailable, as a dead daemon would.
    this.#poll = setInterval(() => {
      if (this.#thread.dead)
        return this.setHealth({ available: false, reason: `plugin ${this.plugin}: ${this.#thread.dead}` });
      this.#thread.call('driver.health', [], 2000).then(
        (h) => {
          const health = h as Partial<TierHealth> | undefined;
          if (health && typeof health.available === 'boolean')
            this.setHealth({
              available: health.available,
              ...(typeof health.reason === 'string' ? { reason: health.reason.slice(0, 2000) } : {}),
            });
        },
        () => this.setHealth({ available: false, reason: `plugin ${this.plugin} does not answer health checks` }),
      );
    }, 1000);
    this.#poll.unref();
  }

  health(): TierHealth {
    if (this.#thread.dead) return { available: false, reason: `plugin ${this.plugin}: ${this.#thread.dead}` };
    return this.#health;
  }

  onHealthChange(listener: (health: TierHealth) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  prepare(artifact: Artifact): Promise<number> {
    let prepared = this.#prepared.get(artifact.digest);
    if (!prepared) {
      prepared = this.#thread.call('driver.prepare', [artifact], this.#budgetMs).then(
        (handle) => {
          if (typeof handle !== 'number') throw new Error('the plugin answered prepare() with no handle');
          return handle;
        },
        (err: Error) => {
          // What the tier refuses in prepare() is the function's code being wrong, as for a built-in tier.
          throw new StrataError(
            'invalid_code',
            `the ${this.tier} tier (plugin ${this.plugin}) refused the function: ${err.message}`,
          );
        },
      );
      prepared.catch(() => this.#prepared.delete(artifact.digest));
      this.#prepared.set(artifact.digest, prepared);
    }
    return prepared;
  }

  async run(prepared: number, invocation: Invocation, options: RunOptions): Promise<RunOutcome> {
    const runId = this.#nextRun++;
    const started = Date.now();
    this.#runs.set(runId, { options });
    const onAbort = () => this.#thread.abortRun(runId, abortError(options.signal));
    options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const budget = Math.max(1, options.deadline - Date.now()) + RUN_GRACE_MS;
      const raw = await this.#thread.call(
        'driver.run',
        [prepared, invocation, { runId, deadline: options.deadline, limits: options.limits }],
        budget,
      );
      const parsed = outcomeSchema.safeParse(raw);
      if (!parsed.success) {
        this.#onFailure('its driver answered run() with an invalid outcome');
        return this.#killed(
          started,
          'protocol_violation',
          `the ${this.tier} tier (plugin ${this.plugin}) answered with an invalid outcome`,
        );
      }
      const o = parsed.data;
      if (options.signal.aborted && o.status === 'succeeded') {
        const error = abortError(options.signal);
        return { status: error.code === 'timeout' ? 'timeout' : 'killed', error, usage: this.#usage(started, o.usage) };
      }
      const outcome: RunOutcome = { status: o.status, usage: this.#usage(started, o.usage) };
      if (o.status === 'succeeded') outcome.result = o.result ?? null;
      else
        outcome.error = {
          code: OUTCOME_CODES.has(o.error?.code ?? '') ? (o.error?.code as ErrorCode) : 'function_error',
          message: o.error?.message ?? `the function ended ${o.status}`,
        };
      return outcome;
    } catch (err) {
      if (options.signal.aborted) {
        const error = abortError(options.signal);
        return { status: error.code === 'timeout' ? 'timeout' : 'killed', error, usage: this.#usage(started) };
      }
      const message = (err as Error).message;
      this.#onFailure(`its driver's run() failed: ${message}`);
      return this.#killed(
        started,
        'sandbox_crashed',
        `the ${this.tier} tier (plugin ${this.plugin}) failed: ${message}`,
      );
    } finally {
      options.signal.removeEventListener('abort', onAbort);
      this.#runs.delete(runId);
    }
  }

  forget(digest: string): void {
    const prepared = this.#prepared.get(digest);
    this.#prepared.delete(digest);
    prepared?.then((handle) => this.#thread.call('driver.forget', [handle], this.#budgetMs)).catch(() => {});
  }

  async dispose(): Promise<void> {
    clearInterval(this.#poll);
    this.#listeners.clear();
    if (!this.#thread.dead) await this.#thread.call('driver.dispose', [], this.#budgetMs).catch(() => {});
  }

  #killed(started: number, code: 'protocol_violation' | 'sandbox_crashed', message: string): RunOutcome {
    return { status: 'killed', error: { code, message }, usage: this.#usage(started) };
  }

  /** Wall time is measured here; other figures only where the tier declares it measures them. */
  #usage(started: number, reported?: Record<string, unknown>) {
    const figures: Partial<Record<UsageField, number>> & { wallMs: number } = { wallMs: Date.now() - started };
    for (const field of this.capabilities.measures) {
      const value = reported?.[field];
      if (field !== 'wallMs' && typeof value === 'number' && Number.isFinite(value) && value >= 0)
        figures[field] = value;
    }
    return usageOf(figures);
  }
}
