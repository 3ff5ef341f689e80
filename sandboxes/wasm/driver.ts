/**
 * The WASM tier's SandboxDriver: runtime "wasm" (core modules and components uploaded as bytes)
 * and runtime "js" when policy sends standard-trust JS here (run in a shared JS engine
 * component). prepare() validates and transforms once per upload, off the serving thread and
 * cached on disk by key (prepare.ts); run() hands the invocation to a supervised wasm host
 * process, which runs it in a guest thread.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { WasmConfig } from '../../src/config/sections/wasm.ts';
import {
  type Artifact,
  abortError,
  type DriverCapabilities,
  type Invocation,
  type RunOptions,
  type SandboxDriver,
  type TierHealth,
} from '../../src/core/driver.ts';
import { isStrataError, StrataError } from '../../src/core/errors.ts';
import { type RunOutcome, usageOf } from '../../src/core/execution.ts';
import { HostPool, type HostPoolOptions } from '../shared/host-pool.ts';
import { ArtifactCache } from './cache.ts';
import { CompilePool } from './compile/compile-pool.ts';
import { type CompileReport, CompileTimer, type WasmPrepareOptions } from './compile-report.ts';
import type { HostRunReply, RunMessage } from './host/protocol.ts';
import { wasmRunReplySchema } from './host/reply-schema.ts';
import type { JsEngine } from './js-engine/build-engine.ts';
import { type PreparedArtifact, Preparer } from './prepare.ts';
import { withRecords } from './records.ts';

const MIB = 1024 ** 2;
/** Engine builds use our own code only; they get at least this long, whatever compileTimeout says. */
const ENGINE_BUILD_MIN_MS = 5 * 60_000;
/** Background engine builds wait this long after start, so short-lived workers never pay for them. */
const PREBUILD_DELAY_MS = 10_000;

export interface WasmDriverOptions {
  config: WasmConfig;
  /** STRATA_DATA_DIR: the cache lives in <dataDir>/wasm-cache unless config.cacheDir says otherwise. */
  dataDir: string;
  /** Memory for manifests without limits.memoryMb, and the node's cap (bytes; config.limits). */
  defaultMemoryBytes: number;
  maxMemoryBytes: number;
  /** Private temp dir size when permissions.tmp is granted without limits.tmpMb (bytes). */
  defaultTmpBytes?: number;
  logger?: Logger;
  /** Put each host in its own memory-capped cgroup (src/resources). */
  place?: HostPoolOptions['place'];
}

export interface PreparedWasm extends PreparedArtifact {
  /** ctx.function: identical code deployed as two versions shares the cache, not this. */
  function: { name: string; version: number };
  /** Where this prepare()'s time went (the executor puts it into the deploy answer). */
  compile: CompileReport;
}

export type { CompileReport } from './compile-report.ts';

export const WASM_CAPABILITIES: DriverCapabilities = {
  runtimes: ['wasm', 'js'],
  measures: ['wallMs', 'cpuMs', 'memoryPeakBytes', 'fuelConsumed'],
  pause: false,
  enforces: ['timeoutMs', 'memoryMb', 'logBytes', 'fuel', 'tmpMb'],
  network: 'none',
  ownProcesses: false,
};

interface Preparing {
  promise: Promise<PreparedWasm>;
  timer: CompileTimer;
  done: boolean;
}

export class WasmDriver implements SandboxDriver<PreparedWasm> {
  readonly tier = 'wasm' as const;
  readonly capabilities = WASM_CAPABILITIES;
  readonly cache: ArtifactCache;
  readonly engineCache: ArtifactCache;
  readonly compiler: CompilePool;
  readonly #options: WasmDriverOptions;
  readonly #pool: HostPool;
  readonly #preparer: Preparer;
  readonly #prepared = new Map<string, Preparing>();
  readonly #inflight = new Set<Promise<unknown>>();
  #prebuild: NodeJS.Timeout | undefined;
  #lateLogBytes = 0;

  constructor(options: WasmDriverOptions) {
    this.#options = options;
    const { config } = options;
    const logger = options.logger;
    this.cache = new ArtifactCache(config.cacheDir || join(options.dataDir, 'wasm-cache'), { logger });
    this.engineCache = config.engineCacheDir ? new ArtifactCache(config.engineCacheDir, { logger }) : this.cache;
    this.compiler = new CompilePool({
      timeoutMs: config.compileTimeout,
      memoryBytes: config.compileMemory,
      idleMs: config.compileIdle,
      logger,
    });
    this.#preparer = new Preparer({
      cache: this.cache,
      engineCache: this.engineCache,
      pool: this.compiler,
      jsEngine: config.jsEngine,
      engineTimeoutMs: Math.max(config.compileTimeout, ENGINE_BUILD_MIN_MS),
      logger,
    });
    this.#pool = new HostPool({
      kind: 'wasm',
      entry: fileURLToPath(new URL('./host/host-main.ts', import.meta.url)),
      size: config.hosts,
      args: [
        String(config.threadsPerHost),
        String(Math.floor(config.threadHeap / MIB)),
        String(Math.min(config.warmThreads, config.threadsPerHost)),
      ],
      killAfterMs: config.killAfter,
      ...(logger ? { logger } : {}),
      ...(options.place ? { place: options.place } : {}),
    });
  }

  async start(): Promise<void> {
    await this.cache.sweep();
    if (this.engineCache !== this.cache) await this.engineCache.sweep();
    await this.#pool.start();
    if (this.#options.config.prebuildEngines) {
      this.#prebuild = setTimeout(() => void this.prebuildEngines(true), PREBUILD_DELAY_MS);
      this.#prebuild.unref();
    }
  }

  /**
   * Make sure the JS engines `wasm.jsEngine` may pick are built and capped for the default
   * memory limit, so a JS deploy finds them (background: at low priority, failures logged).
   */
  async prebuildEngines(background = false): Promise<void> {
    const choice = this.#options.config.jsEngine;
    const engines: JsEngine[] = choice === 'auto' ? ['quickjs', 'starlingmonkey'] : [choice];
    const capPages = this.#capPagesOf(undefined);
    for (const engine of engines) {
      const job = this.#preparer.engineVariant(engine, capPages, new CompileTimer(), background);
      this.#track(job);
      try {
        await job;
      } catch (error) {
        if (!background) throw error;
        this.#options.logger?.warn({ engine, err: (error as Error).message }, 'the JS engine could not be prebuilt');
        return;
      }
    }
  }

  health(): TierHealth {
    const health = this.#pool.health();
    return {
      ...health,
      details: { ...health.details, compileThread: this.compiler.running, lateLogBytes: this.#lateLogBytes },
    };
  }

  /** PIDs of the live wasm hosts (tests, diagnostics, cgroup placement checks). */
  hostPids(): number[] {
    return this.#pool.pids();
  }

  /** Memory cap in 64 KiB pages for a manifest. */
  capPages(artifact: Artifact): number {
    return this.#capPagesOf(artifact.manifest.limits.memoryMb);
  }

  #capPagesOf(memoryMb: number | undefined): number {
    const asked = memoryMb !== undefined ? memoryMb * MIB : undefined;
    const bytes = Math.min(asked ?? this.#options.defaultMemoryBytes, this.#options.maxMemoryBytes);
    return Math.max(1, Math.floor(bytes / 65536));
  }

  /**
   * Validate and transform once per digest (memoized here, cached on disk). The answer's
   * `compile` says where the time went; `onProgress` hears long steps while they run.
   */
  prepare(artifact: Artifact, options: WasmPrepareOptions = {}): Promise<PreparedWasm> {
    const memoKey = `${artifact.digest}/${artifact.name}@${artifact.version}`;
    const known = this.#prepared.get(memoKey);
    if (known?.done) {
      // Already prepared by this process: nothing was compiled for this call.
      return known.promise.then((p) => ({ ...p, compile: { cached: true, ms: 0, steps: {} } }));
    }
    if (known) {
      if (options.onProgress) known.timer.listen(options.onProgress);
      return known.promise;
    }
    const timer = new CompileTimer(options.onProgress ? [options.onProgress] : []);
    const promise = this.#preparer.prepare(artifact, this.capPages(artifact), timer).then(
      (p): PreparedWasm => ({
        ...p,
        function: { name: artifact.name, version: artifact.version },
        compile: timer.report(),
      }),
    );
    const entry: Preparing = { promise, timer, done: false };
    this.#prepared.set(memoKey, entry);
    this.#track(promise);
    promise.then(
      () => {
        entry.done = true;
      },
      () => this.#prepared.delete(memoKey),
    );
    return promise;
  }

  #track(promise: Promise<unknown>): void {
    this.#inflight.add(promise);
    const untrack = () => this.#inflight.delete(promise);
    promise.then(untrack, untrack);
  }

  async run(prepared: PreparedWasm, invocation: Invocation, options: RunOptions): Promise<RunOutcome> {
    const seen: { reply?: HostRunReply } = {};
    const outcome = await this.#runOnHost(prepared, invocation, options, seen);
    const reply = seen.reply;
    const start = reply && !reply.needBytes ? reply.start : undefined;
    if (reply && !reply.needBytes && typeof reply.lateLogBytes === 'number') this.#lateLogBytes += reply.lateLogBytes;
    return withRecords(outcome, options.limits, start);
  }

  /** One invocation on a host; `seen.reply` keeps the host's last reply for run()'s record fields. */
  async #runOnHost(
    prepared: PreparedWasm,
    invocation: Invocation,
    options: RunOptions,
    seen: { reply?: HostRunReply },
  ): Promise<RunOutcome> {
    const { limits, signal } = options;
    const message: RunMessage = {
      type: 'run',
      key: prepared.key,
      meta: prepared.meta,
      inputJson: invocation.inputJson,
      deadline: options.deadline,
      ctx: {
        executionId: invocation.id,
        name: prepared.function.name,
        version: prepared.function.version,
      },
      fuel: limits.fuel,
      resultBytes: limits.resultBytes,
      logBytes: limits.logBytes,
      tmpBytes: prepared.tmp
        ? limits.tmpMb !== undefined
          ? limits.tmpMb * MIB
          : (this.#options.defaultTmpBytes ?? 64 * MIB)
        : undefined,
    };
    const started = performance.now();
    options.onStart?.();
    let reply: HostRunReply;
    try {
      const schema = wasmRunReplySchema(limits);
      const send = (m: RunMessage) =>
        this.#pool.request<HostRunReply>(m as unknown as RunMessage & Record<string, unknown>, {
          key: prepared.routeKey,
          signal,
          killAfterMs: this.#options.config.killAfter,
          schema,
        });
      reply = await send(message);
      if (reply.needBytes) reply = await send({ ...message, bytes: prepared.bytes as Uint8Array });
      seen.reply = reply;
    } catch (error) {
      const wallMs = performance.now() - started;
      // A host that broke the protocol is what ended it, even when the deadline fired meanwhile.
      if (isStrataError(error) && error.code === 'protocol_violation')
        return { status: 'killed', error: { code: error.code, message: error.message }, usage: usageOf({ wallMs }) };
      if (signal.aborted) return this.#aborted(signal, wallMs);
      if (isStrataError(error))
        return { status: 'killed', error: { code: error.code, message: error.message }, usage: usageOf({ wallMs }) };
      throw error;
    }
    if (reply.needBytes) throw new StrataError('internal', 'the wasm host asked for module bytes twice');
    if (reply.logs) options.logs.write(reply.logs);
    const usage = usageOf({
      wallMs: reply.wallMs,
      cpuMs: reply.cpuMs,
      memoryPeakBytes: reply.memoryBytes,
      fuelConsumed: reply.fuelConsumed,
    });
    if (reply.timedOut) {
      return {
        status: 'timeout',
        error: {
          code: 'timeout',
          message: `the function ran past its ${limits.timeoutMs} ms deadline and was stopped`,
        },
        usage,
        exit: { timedOut: true },
      };
    }
    if (reply.cancelled) return { ...this.#aborted(signal, reply.wallMs), usage };
    if (reply.crashed !== undefined && reply.status !== 'memory_exceeded') {
      return { status: 'killed', error: { code: 'sandbox_crashed', message: reply.crashed }, usage };
    }
    const outcome: RunOutcome = { status: reply.status, usage };
    if (reply.status === 'succeeded') outcome.result = reply.result;
    if (reply.resultIsText) outcome.resultIsText = true;
    if (reply.error) outcome.error = reply.error;
    if (reply.exitCode !== undefined) outcome.exit = { exitCode: reply.exitCode };
    return outcome;
  }

  #aborted(signal: AbortSignal, wallMs: number): RunOutcome {
    const error = abortError(signal);
    return { status: error.code === 'timeout' ? 'timeout' : 'killed', error, usage: usageOf({ wallMs }) };
  }

  forget(digest: string): void {
    for (const [memoKey, entry] of this.#prepared) {
      if (!memoKey.startsWith(`${digest}/`)) continue;
      this.#prepared.delete(memoKey);
      entry.promise.then(
        (p) => this.#pool.broadcast({ type: 'forget', key: p.key }),
        () => {},
      );
    }
  }

  async dispose(): Promise<void> {
    clearTimeout(this.#prebuild);
    this.#preparer.abortBuilds();
    await this.compiler.close();
    // Builds that were stopped remove their half-made cache entries and scratch directories.
    await Promise.allSettled([...this.#inflight]);
    await this.#pool.dispose();
  }
}

export function createWasmDriver(options: WasmDriverOptions): WasmDriver {
  return new WasmDriver(options);
}
