/**
 * The isolate tier: trusted (warm) and policy-placed (fresh) JavaScript in isolated-vm isolates,
 * held by supervised isolate host processes so a V8 abort never reaches the worker.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import {
  type Artifact,
  abortError,
  type DriverCapabilities,
  type Invocation,
  type RunOptions,
  type SandboxDriver,
  type TierHealth,
} from '../../src/core/driver.ts';
import { isStrataError, type StrataError } from '../../src/core/errors.ts';
import { type RunOutcome, usageOf } from '../../src/core/execution.ts';
import { networkAsk } from '../../src/core/manifest.ts';
import { type HostPlacement, HostPool } from '../shared/host-pool.ts';
import type { RunReply, RunRequest } from './isolate-runtime.ts';
import { emptyReplySchema, runReplyCheck } from './protocol.ts';
import type { SyncCallsMode } from './sync-calls.ts';

export interface IsolateDriverOptions {
  hosts: number;
  maxWarm: number;
  logger?: Logger;
  /** Put each host in its own memory-capped cgroup (src/resources); optional. */
  placeHost?: (pid: number, name: string) => HostPlacement | undefined | Promise<HostPlacement | undefined>;
  /** Warm calls of a function proven fast run on the host's thread (`auto`, sandboxes/isolate/sync-calls.ts) or never. */
  syncCalls?: SyncCallsMode;
  /** Tests only: fast calls in a row before a function runs on the host's thread (default FIRST_STREAK). */
  syncStreak?: number;
  /** Grace between a cancel and killing an unresponsive host. */
  killAfterMs?: number;
  /** Tests only: another host entry (one that answers with forged or malformed frames). */
  hostEntry?: string;
  /**
   * ctx.fetch: the node's guard settings (http.allow, the worker's own listener, http.maxResponse).
   * With them the tier enforces a function's permissions.network allow-list (capabilities.network
   * "allowlist"); without them it grants no network at all.
   */
  net?: {
    operatorAllow: readonly string[];
    protected: () => readonly { host: string; port: number }[];
    maxResponseBytes: number;
  };
}

interface PreparedFunction {
  digest: string;
  source: string;
  /** Trusted code keeps a warm isolate; anything else gets a fresh isolate per invocation. */
  mode: 'warm' | 'fresh';
  name: string;
  version: number;
  /** The function's permissions.network allow-list (ctx.fetch reaches only these); none: no fetch. */
  allow: string[] | undefined;
}

const CAPABILITIES: DriverCapabilities = {
  runtimes: ['js'],
  measures: ['wallMs', 'cpuMs', 'memoryPeakBytes'],
  pause: false,
  enforces: ['timeoutMs', 'memoryMb', 'logBytes', 'resultBytes'],
  network: 'none',
  ownProcesses: false,
};

export class IsolateDriver implements SandboxDriver<PreparedFunction> {
  readonly tier = 'isolate' as const;
  readonly capabilities: DriverCapabilities;
  readonly pool: HostPool;
  readonly #net: IsolateDriverOptions['net'];
  readonly #prepared = new Map<string, PreparedFunction>();
  /** Log bytes functions wrote after their invocation ended: dropped, counted here. */
  #lateLogBytes = 0;

  constructor(options: IsolateDriverOptions) {
    this.#net = options.net;
    this.capabilities = options.net ? { ...CAPABILITIES, network: 'allowlist' } : CAPABILITIES;
    this.pool = new HostPool({
      kind: 'isolate',
      entry: options.hostEntry ?? fileURLToPath(new URL('./host.ts', import.meta.url)),
      size: options.hosts,
      killAfterMs: options.killAfterMs ?? 1000,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.placeHost ? { place: options.placeHost } : {}),
      env: {
        STRATA_ISOLATE_MAX_WARM: String(options.maxWarm),
        STRATA_ISOLATE_SYNC_CALLS: options.syncCalls ?? 'auto',
        ...(options.syncStreak !== undefined ? { STRATA_ISOLATE_SYNC_STREAK: String(options.syncStreak) } : {}),
      },
    });
  }

  start(): Promise<void> {
    return this.pool.start();
  }

  health(): TierHealth {
    const health = this.pool.health();
    return { ...health, details: { ...health.details, lateLogBytes: this.#lateLogBytes } };
  }

  async prepare(artifact: Artifact): Promise<PreparedFunction> {
    const cached = this.#prepared.get(artifact.digest);
    if (cached) return cached;
    const source = new TextDecoder().decode(artifact.code);
    await this.pool.request(
      { type: 'check', digest: artifact.digest, source },
      { key: artifact.digest, schema: emptyReplySchema },
    );
    const prepared: PreparedFunction = {
      digest: artifact.digest,
      source,
      mode: artifact.manifest.trust === 'trusted' ? 'warm' : 'fresh',
      name: artifact.name,
      version: artifact.version,
      allow: allowListOf(artifact.manifest.permissions?.network),
    };
    this.#prepared.set(artifact.digest, prepared);
    return prepared;
  }

  async run(prepared: PreparedFunction, invocation: Invocation, options: RunOptions): Promise<RunOutcome> {
    const started = performance.now();
    // The source goes only to a host that does not have it yet (it answers not_found).
    const request: RunRequest = {
      digest: prepared.digest,
      mode: prepared.mode,
      inputJson: invocation.inputJson,
      deadline: options.deadline,
      memoryMb: options.limits.memoryMb,
      logBytes: options.limits.logBytes,
      resultBytes: options.limits.resultBytes,
      errorBytes: options.limits.errorBytes,
      meta: { executionId: invocation.id, name: prepared.name, version: prepared.version },
      ...(this.#net && prepared.allow
        ? {
            net: {
              allow: prepared.allow,
              operatorAllow: [...this.#net.operatorAllow],
              protected: [...this.#net.protected()],
              maxResponseBytes: this.#net.maxResponseBytes,
            },
          }
        : {}),
    };
    options.onStart?.();
    let reply: RunReply;
    const schema = runReplyCheck(options.limits);
    const send = (withSource: boolean) =>
      this.pool.request<RunReply>(
        { type: 'run', ...request, ...(withSource ? { source: prepared.source } : {}) },
        { key: prepared.digest, signal: options.signal, schema },
      );
    try {
      reply = await send(false).catch((err: unknown) => {
        if (isStrataError(err) && err.code === 'not_found' && !options.signal.aborted) return send(true);
        throw err;
      });
    } catch (err) {
      const wallMs = performance.now() - started;
      // The host was killed after a cancel or deadline it could not honour: report why we stopped it.
      if (isStrataError(err) && err.code === 'protocol_violation') {
        const usage = usageOf({ wallMs });
        return { status: 'killed', error: err.toJSON(), usage, death: { cause: 'protocol', usage } };
      }
      if (options.signal.aborted) return stopped(options.signal, wallMs);
      if (isStrataError(err)) return { status: 'killed', error: err.toJSON(), usage: usageOf({ wallMs }) };
      throw err;
    }
    options.logs.restore(reply.logs);
    if (reply.lateLogBytes) this.#lateLogBytes += reply.lateLogBytes;
    const usage = usageOf({
      wallMs: performance.now() - started,
      cpuMs: reply.cpuMs,
      memoryPeakBytes: reply.memoryPeakBytes,
      netTxBytes: reply.netTxBytes,
      netRxBytes: reply.netRxBytes,
    });
    // The host saw the call cross its memory limit: that is what ended it, even when the deadline
    // (which the host may have answered just after) fired meanwhile.
    if (options.signal.aborted && reply.status !== 'succeeded' && reply.status !== 'memory_exceeded')
      return { ...stopped(options.signal, usage.wallMs), usage };
    const outcome: RunOutcome = { status: reply.status, usage };
    if (reply.error) outcome.error = { code: reply.error.code as StrataError['code'], message: reply.error.message };
    if (reply.resultJson !== undefined) {
      try {
        outcome.result = JSON.parse(reply.resultJson);
      } catch {
        // The host checked its shape, not its grammar: text that is not JSON is a forged result.
        const error = {
          code: 'protocol_violation' as const,
          message: 'the isolate host sent a result that is not JSON',
        };
        return { status: 'killed', error, usage, death: { cause: 'protocol', usage } };
      }
    }
    if (reply.start) outcome.start = reply.start;
    const death = deathOf(reply, options.limits);
    if (death) outcome.death = { ...death, usage };
    return outcome;
  }

  forget(digest: string): void {
    this.#prepared.delete(digest);
    void this.pool.broadcast({ type: 'forget', digest });
  }

  dispose(): Promise<void> {
    return this.pool.dispose();
  }
}

/** A manifest's network allow-list (ctx.fetch needs one: `true` or `false` grant no fetch here). */
function allowListOf(network: unknown): string[] | undefined {
  const { level, allow } = networkAsk(network as Parameters<typeof networkAsk>[0]);
  return level === 'allowlist' && allow.length > 0 ? allow : undefined;
}

/** What ended a call that did not succeed, in the limit's own unit (CONTRACTS.md death). */
function deathOf(
  reply: RunReply,
  limits: RunOptions['limits'],
): Omit<NonNullable<RunOutcome['death']>, 'usage'> | undefined {
  if (reply.status === 'succeeded') return undefined;
  if (reply.status === 'memory_exceeded') return { cause: 'memory', limit: limits.memoryMb };
  if (reply.status === 'timeout') return { cause: 'time', limit: limits.timeoutMs };
  switch (reply.error?.code) {
    case 'result_too_large':
      return { cause: 'result', limit: limits.resultBytes };
    case 'cancelled':
      return { cause: 'cancel' };
    default:
      return { cause: 'error' };
  }
}

/** The outcome for an invocation the executor stopped (deadline, cancel, reclaim, shutdown). */
function stopped(signal: AbortSignal, wallMs: number): RunOutcome {
  const error = abortError(signal);
  const status = error.code === 'timeout' ? 'timeout' : 'killed';
  return { status, error, usage: usageOf({ wallMs }) };
}
