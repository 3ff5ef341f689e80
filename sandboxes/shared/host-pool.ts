/**
 * Supervised sandbox host processes (the main-process side). User code never runs in the process
 * that serves HTTP: isolate and WASM tiers run it in child "host" processes, which this pool
 * starts, routes requests to, and replaces when they die. A host that dies fails only its own
 * in-flight requests (StrataError 'sandbox_crashed'); everything else goes on.
 *
 * Wire protocol (advanced serialization, so typed arrays travel as they are):
 *   parent -> host  { id, type, ...fields }        a request; `type` picks the host's handler
 *   parent -> host  { id, type: 'cancel' }         abort request `id` (its handler's signal fires)
 *   host -> parent  { id, ok: true, value }        | { id, ok: false, error: { code, message } }
 *   host -> parent  { type: 'ready' }              once, when the handlers are installed
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from 'pino';
import type { TierHealth } from '../../src/core/driver.ts';
import { type ErrorCode, StrataError } from '../../src/core/errors.ts';

export type HostKind = 'isolate' | 'wasm';

export interface HostRequest {
  type: string;
  [field: string]: unknown;
}

/** Where a host process is placed once spawned (a memory-capped cgroup, from src/resources). */
export interface HostPlacement {
  release(): void | Promise<void>;
}

export interface HostPoolOptions {
  kind: HostKind;
  /** Absolute path of the host's entry module (it calls serveHost()). */
  entry: string;
  size: number;
  logger?: Logger;
  /** Put a freshly spawned host somewhere (its own cgroup); returns how to undo it. */
  place?: (pid: number, name: string) => HostPlacement | undefined | Promise<HostPlacement | undefined>;
  /** Extra arguments after `<kind> host <index>`. */
  args?: string[];
  /** Default grace between a cancel and killing the host, ms. */
  killAfterMs?: number;
  /** IPC encoding: 'json' is cheaper for messages of strings and numbers; 'advanced' carries typed arrays. */
  serialization?: 'json' | 'advanced';
}

export interface RequestOptions {
  /** Requests with the same key go to the same host when it is not much busier (warm caches). */
  key?: string;
  signal?: AbortSignal;
  /** How long a host may take to honour a cancel before it is killed. */
  killAfterMs?: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  host: Host;
  cleanup: () => void;
}

interface Host {
  index: number;
  child: ChildProcess;
  ready: Promise<void>;
  inFlight: number;
  placement: HostPlacement | undefined;
  exited: boolean;
}

/** Hosts that die this many times within `CRASH_WINDOW_MS` are restarted with a backoff. */
const CRASH_WINDOW_MS = 10_000;
const MAX_BACKOFF_MS = 5_000;

export class HostPool {
  readonly kind: HostKind;
  readonly #options: HostPoolOptions;
  readonly #hosts: (Host | undefined)[];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #disposed = false;
  #started = false;
  #restarts = 0;
  #recentCrashes: number[] = [];
  #lastCrash: string | undefined;
  /** Requests waiting for a host while all of them are being replaced. */
  readonly #hostWaiters = new Set<() => void>();

  constructor(options: HostPoolOptions) {
    this.kind = options.kind;
    this.#options = options;
    this.#hosts = new Array(Math.max(1, options.size)).fill(undefined);
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await Promise.all(this.#hosts.map((_, index) => this.#spawn(index).ready));
  }

  /** Send one request to a host and resolve with its reply. */
  request<R>(message: HostRequest, options: RequestOptions = {}): Promise<R> {
    if (this.#disposed)
      return Promise.reject(new StrataError('shutting_down', `the ${this.kind} tier is shutting down`));
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    const host = this.#pick(options.key);
    if (!host) {
      // Every host is between a death and its replacement: wait for the next one (bounded).
      return this.#nextLiveHost().then(() => this.request<R>(message, options));
    }
    const id = this.#nextId++;
    host.inFlight++;
    return new Promise<R>((resolve, reject) => {
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        if (host.exited) return;
        host.child.send({ id, type: 'cancel' }, () => {});
        killTimer = setTimeout(
          () => {
            this.#options.logger?.warn(
              { host: host.index, kind: this.kind },
              'host did not honour a cancel in time; killing it',
            );
            host.child.kill('SIGKILL');
          },
          options.killAfterMs ?? this.#options.killAfterMs ?? 1000,
        );
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        host.inFlight--;
        if (killTimer) clearTimeout(killTimer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, host, cleanup });
      host.ready.then(
        () => {
          if (host.exited || !this.#pending.has(id)) return;
          host.child.send({ ...message, id }, (err) => {
            if (err)
              this.#settle(id, false, toError('sandbox_crashed', `cannot reach the ${this.kind} host: ${err.message}`));
          });
        },
        () => {},
      );
    });
  }

  /** Send a message to every live host and wait for all replies (cache invalidation and such). */
  async broadcast(message: HostRequest): Promise<void> {
    await Promise.allSettled(
      this.#hosts.filter((h): h is Host => !!h && !h.exited).map((host) => this.#requestOn<unknown>(host, message)),
    );
  }

  health(): TierHealth {
    const live = this.#hosts.filter((h) => h && !h.exited).length;
    const details = {
      hosts: this.#hosts.length,
      live,
      restarts: this.#restarts,
      inFlight: this.#pending.size,
      ...(this.#lastCrash ? { lastCrash: this.#lastCrash } : {}),
    };
    if (!this.#started) return { available: false, reason: `the ${this.kind} hosts are not started`, details };
    if (live === 0) return { available: false, reason: `no ${this.kind} host is running (restarting)`, details };
    return { available: true, details };
  }

  /** PIDs of the live hosts (tests, diagnostics). */
  pids(): number[] {
    return this.#hosts.flatMap((h) => (h && !h.exited && h.child.pid ? [h.child.pid] : []));
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    // Waiters retry and are refused with shutting_down.
    for (const waiter of this.#hostWaiters) waiter();
    this.#hostWaiters.clear();
    const hosts = this.#hosts.filter((h): h is Host => !!h && !h.exited);
    await Promise.all(
      hosts.map(async (host) => {
        const exited = once(host.child, 'exit').catch(() => {});
        host.child.kill('SIGTERM');
        const timer = setTimeout(() => host.child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
    for (const [id] of this.#pending)
      this.#settle(id, false, toError('shutting_down', `the ${this.kind} tier shut down`));
  }

  #requestOn<R>(host: Host, message: HostRequest): Promise<R> {
    const id = this.#nextId++;
    host.inFlight++;
    return new Promise<R>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        host,
        cleanup: () => {
          host.inFlight--;
        },
      });
      host.ready.then(
        () => host.child.send({ ...message, id }, () => {}),
        () => {},
      );
    });
  }

  /** Resolves when a replacement host is ready; rejects when none comes within the backoff bound. */
  #nextLiveHost(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#hostWaiters.delete(done);
        reject(new StrataError('tier_unavailable', `no ${this.kind} host is running (restarting after crashes)`));
      }, MAX_BACKOFF_MS + 1000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#hostWaiters.add(done);
    });
  }

  /** Least in-flight host; the key's home host wins ties and near-ties (keeps warm caches hot). */
  #pick(key: string | undefined): Host | undefined {
    const live = this.#hosts.filter((h): h is Host => !!h && !h.exited);
    if (live.length === 0) return undefined;
    let best = live[0] as Host;
    for (const host of live) if (host.inFlight < best.inFlight) best = host;
    if (key !== undefined) {
      const home = this.#hosts[hashOf(key) % this.#hosts.length];
      if (home && !home.exited && home.inFlight <= best.inFlight + 2) return home;
    }
    return best;
  }

  #spawn(index: number): Host {
    const name = `strata ${this.kind} host ${index}`;
    const child = fork(this.#options.entry, [this.kind, 'host', String(index), ...(this.#options.args ?? [])], {
      serialization: this.#options.serialization ?? 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Inherit no loader flags or inspector ports from the parent (vitest, --inspect).
      execArgv: ['--disable-warning=ExperimentalWarning'],
      env: { ...process.env, STRATA_HOST_NAME: name },
    });
    let markReady: () => void = () => {};
    let markFailed: (e: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    ready.catch(() => {});
    const host: Host = { index, child, ready, inFlight: 0, placement: undefined, exited: false };
    this.#hosts[index] = host;
    const logger = this.#options.logger;
    child.stdout?.on('data', (chunk: Buffer) => logger?.debug({ host: name }, chunk.toString().trimEnd()));
    let stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-2000);
      logger?.warn({ host: name }, chunk.toString().trimEnd());
    });
    child.on('message', (message: { id?: number; type?: string; ok?: boolean; value?: unknown; error?: unknown }) => {
      if (message.type === 'ready') {
        markReady();
        for (const waiter of this.#hostWaiters) waiter();
        this.#hostWaiters.clear();
        return;
      }
      if (typeof message.id !== 'number') return;
      if (message.ok) this.#settle(message.id, true, message.value);
      else {
        const err = message.error as { code?: ErrorCode; message?: string } | undefined;
        this.#settle(message.id, false, toError(err?.code ?? 'internal', err?.message ?? 'the host failed'));
      }
    });
    child.on('error', (err) => logger?.error({ host: name, err }, 'host process error'));
    child.on('exit', (code, signal) => {
      host.exited = true;
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      const hint = /out of memory|OOM|heap limit/i.test(stderrTail) ? ' (V8 ran out of memory)' : '';
      markFailed(new Error(`${name} exited before it was ready (${how})`));
      // A host we stopped in dispose() did not crash: its requests end as shutting_down.
      const error = this.#disposed
        ? toError('shutting_down', `the ${this.kind} tier shut down`)
        : toError('sandbox_crashed', `the ${this.kind} host process died (${how})${hint}; the sandbox crashed`);
      for (const [id, pending] of this.#pending) {
        if (pending.host === host) this.#settle(id, false, error);
      }
      void host.placement?.release();
      if (this.#disposed) return;
      this.#lastCrash = `${new Date().toISOString()} ${name} ${how}${hint}`;
      logger?.warn({ host: name, code, signal }, 'sandbox host died; replacing it');
      this.#restarts++;
      const now = Date.now();
      this.#recentCrashes = [...this.#recentCrashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
      const backoff = Math.min(
        MAX_BACKOFF_MS,
        this.#recentCrashes.length > 3 ? 2 ** this.#recentCrashes.length * 50 : 0,
      );
      setTimeout(() => {
        if (!this.#disposed) this.#spawn(index);
      }, backoff).unref();
    });
    if (this.#options.place && child.pid) {
      Promise.resolve(this.#options.place(child.pid, name)).then(
        (placement) => {
          host.placement = placement;
          if (host.exited) void placement?.release();
        },
        (err) => logger?.warn({ host: name, err: String(err) }, 'could not place the host in its cgroup'),
      );
    }
    return host;
  }

  #settle(id: number, ok: boolean, value: unknown): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    pending.cleanup();
    if (ok) pending.resolve(value);
    else pending.reject(value as Error);
  }
}

function toError(code: ErrorCode, message: string): StrataError {
  return new StrataError(code, message);
}

function hashOf(key: string): number {
  let hash = 2166136261;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 16777619);
  return hash >>> 0;
}
