/**
 * The WASM tier's SandboxDriver: runtime "wasm" (core modules and components uploaded as bytes)
 * and runtime "js" when policy sends standard-trust JS here (compiled into a component at
 * prepare time). prepare() validates and transforms once per upload (cached on disk by key);
 * run() hands the invocation to a supervised wasm host process, which runs it in a guest thread.
 */
import { readFile, writeFile } from 'node:fs/promises';
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
import type { GuestMeta, HostRunReply, RunMessage } from './host/protocol.ts';
import { pickEngine } from './js-compile.ts';
import { sha256, transformCore, transformKey } from './transform.ts';
import { checkMagic } from './validate.ts';

const MIB = 1024 ** 2;

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

export interface PreparedWasm {
  key: string;
  meta: GuestMeta;
  /** Transformed module bytes, sent to a host that has not compiled this key yet. */
  bytes?: Uint8Array;
  tmp: boolean;
  /** Whether prepare() found the transform already on disk. */
  cacheHit: boolean;
}

export const WASM_CAPABILITIES: DriverCapabilities = {
  runtimes: ['wasm', 'js'],
  measures: ['wallMs', 'cpuMs', 'memoryPeakBytes', 'fuelConsumed'],
  pause: false,
  enforces: ['timeoutMs', 'memoryMb', 'logBytes', 'fuel', 'tmpMb'],
  network: 'none',
  ownProcesses: false,
};

export class WasmDriver implements SandboxDriver<PreparedWasm> {
  readonly tier = 'wasm' as const;
  readonly capabilities = WASM_CAPABILITIES;
  readonly cache: ArtifactCache;
  readonly #options: WasmDriverOptions;
  readonly #pool: HostPool;
  readonly #prepared = new Map<string, Promise<PreparedWasm>>();

  constructor(options: WasmDriverOptions) {
    this.#options = options;
    this.cache = new ArtifactCache(options.config.cacheDir || join(options.dataDir, 'wasm-cache'));
    this.#pool = new HostPool({
      kind: 'wasm',
      entry: fileURLToPath(new URL('./host/host-main.ts', import.meta.url)),
      size: options.config.hosts,
      args: [String(options.config.threadsPerHost), String(Math.floor(options.config.threadHeap / MIB))],
      killAfterMs: options.config.killAfter,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.place ? { place: options.place } : {}),
    });
  }

  async start(): Promise<void> {
    await this.cache.sweep();
    await this.#pool.start();
  }

  health(): TierHealth {
    return this.#pool.health();
  }

  /** PIDs of the live wasm hosts (tests, diagnostics, cgroup placement checks). */
  hostPids(): number[] {
    return this.#pool.pids();
  }

  /** Memory cap in 64 KiB pages for a manifest. */
  capPages(artifact: Artifact): number {
    const asked = artifact.manifest.limits.memoryMb !== undefined ? artifact.manifest.limits.memoryMb * MIB : undefined;
    const bytes = Math.min(asked ?? this.#options.defaultMemoryBytes, this.#options.maxMemoryBytes);
    return Math.max(1, Math.floor(bytes / 65536));
  }

  prepare(artifact: Artifact): Promise<PreparedWasm> {
    let pending = this.#prepared.get(artifact.digest);
    if (!pending) {
      pending = this.#prepare(artifact);
      this.#prepared.set(artifact.digest, pending);
      pending.catch(() => this.#prepared.delete(artifact.digest));
    }
    return pending;
  }

  async #prepare(artifact: Artifact): Promise<PreparedWasm> {
    const { manifest } = artifact;
    const capPages = this.capPages(artifact);
    const tmp = manifest.permissions.tmp;
    if (manifest.runtime === 'js') {
      const source = manifest.source ?? new TextDecoder().decode(artifact.code);
      const engine = pickEngine(source, this.#options.config.jsEngine);
      const key = transformKey(sha256(source), 'js', { engine, capPages });
      const { prepareJs } = await import('./prepare-component.ts');
      const entry = await this.cache.getOrBuild(key, (dir) => prepareJs(source, engine, dir, capPages));
      return { key, meta: { ...entry.meta, dir: entry.dir }, tmp, cacheHit: entry.hit };
    }
    if (manifest.runtime !== 'wasm') {
      throw new StrataError('unsupported_runtime', `the wasm tier cannot run runtime "${manifest.runtime}"`);
    }
    const bytes = artifact.code;
    const uploadSha = sha256(bytes);
    if (checkMagic(bytes) === 'component') {
      const key = transformKey(uploadSha, 'component', { capPages });
      // jco is large: load it only when a component arrives.
      const { prepareComponent } = await import('./prepare-component.ts');
      const entry = await this.cache.getOrBuild(key, (dir) => prepareComponent(bytes, dir, capPages));
      return { key, meta: { ...entry.meta, dir: entry.dir }, tmp, cacheHit: entry.hit };
    }
    const fuel = manifest.limits.fuel !== undefined;
    const key = transformKey(uploadSha, 'module', { capPages, fuel, entry: manifest.entry ?? null });
    const entry = await this.cache.getOrBuild(key, async (dir) => {
      const t = await transformCore(bytes, { capPages, fuel, entry: manifest.entry });
      await writeFile(join(dir, 'module.wasm'), t.bytes);
      const meta: GuestMeta = {
        kind: 'module',
        style: t.style,
        entry: t.entry,
        reactor: t.reactor,
        metered: t.metered,
        maxPages: t.maxPages,
      };
      return meta;
    });
    const transformed = new Uint8Array(await readFile(join(entry.dir, 'module.wasm')));
    return { key, meta: entry.meta, bytes: transformed, tmp, cacheHit: entry.hit };
  }

  async run(prepared: PreparedWasm, invocation: Invocation, options: RunOptions): Promise<RunOutcome> {
    const { limits, signal } = options;
    const message: RunMessage = {
      type: 'run',
      key: prepared.key,
      meta: prepared.meta,
      inputJson: invocation.inputJson,
      deadline: options.deadline,
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
      const send = (m: RunMessage) =>
        this.#pool.request<HostRunReply>(m as unknown as RunMessage & Record<string, unknown>, {
          key: prepared.key,
          signal,
          killAfterMs: this.#options.config.killAfter,
        });
      reply = await send(message);
      if (reply.needBytes) reply = await send({ ...message, bytes: prepared.bytes as Uint8Array });
    } catch (error) {
      const wallMs = performance.now() - started;
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
    const pending = this.#prepared.get(digest);
    this.#prepared.delete(digest);
    pending?.then(
      (p) => this.#pool.broadcast({ type: 'forget', key: p.key }),
      () => {},
    );
  }

  async dispose(): Promise<void> {
    await this.#pool.dispose();
  }
}

export function createWasmDriver(options: WasmDriverOptions): WasmDriver {
  return new WasmDriver(options);
}
