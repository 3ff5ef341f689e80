/**
 * Supervised sandbox host processes (the main-process side). User code never runs in the process
 * that serves HTTP: isolate and WASM tiers run it in child "host" processes, which this pool
 * starts, routes requests to, and replaces when they die. A host that dies fails only its own
 * in-flight requests (StrataError 'sandbox_crashed'); everything else goes on.
 *
 * Wire protocol, on the private channel of host-channel.ts (fd 3; v8-serialized requests, JSON replies):
 *   parent -> host  { id, type, ...fields }        a request; `type` picks the host's handler
 *   parent -> host  { id, type: 'cancel' }         abort request `id` (its handler's signal fires)
 *   host -> parent  { id, ok: true, value }        | { id, ok: false, error: { code, message } }
 *   host -> parent  { type: 'ready' }              once, when the handlers are installed
 *
 * Every byte a host sends is hostile: a frame is bounded before it is buffered, parsed without
 * throwing, checked against the envelope schema below and its value against the request's own
 * schema (RequestOptions.schema). A reply for a request the host does not hold, a second `ready`,
 * or anything that fails a schema is a protocol violation: the host is killed, its in-flight
 * requests end with StrataError 'protocol_violation', and nothing throws in the worker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { TierHealth } from '../../src/core/driver.ts';
import { type ErrorCode, StrataError } from '../../src/core/errors.ts';
import { batchedWriter, encodeRequest, HOST_CHANNEL_FD, HostFrameReader } from './host-channel.ts';

/** The error codes a host may answer with (anything else is a violation). */
const HOST_ERROR_CODES = [
  'not_found',
  'invalid_code',
  'invalid_request',
  'internal',
  'cancelled',
  'function_error',
  'timeout',
  'memory_exceeded',
  'sandbox_crashed',
] as const satisfies readonly ErrorCode[];

/** The envelope every host message must fit (the reference; checkEnvelope is its hot-path twin). */
export const hostReplySchema = z.union([
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ id: z.number().int().positive(), ok: z.literal(true), value: z.unknown().optional() }),
  z.strictObject({
    id: z.number().int().positive(),
    ok: z.literal(false),
    error: z.strictObject({ code: z.enum(HOST_ERROR_CODES), message: z.string().max(64 * 1024) }),
  }),
]);

type Envelope =
  | { type: 'ready' }
  | { id: number; ok: true; value?: unknown }
  | { id: number; ok: false; error: { code: (typeof HOST_ERROR_CODES)[number]; message: string } };
const HOST_ERROR_CODE_SET = new Set<string>(HOST_ERROR_CODES);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const keysWithin = (value: object, a: string, b: string, c: string): boolean => {
  for (const key in value) if (key !== a && key !== b && key !== c) return false;
  return true;
};

/**
 * hostReplySchema by hand (zod was ~5% of the worker's CPU per warm invocation): the same
 * accepted set (test/sandboxes/isolate/reply-check.test.ts), a reason text when refused.
 */
export function checkEnvelope(value: unknown): Envelope | string {
  if (!isRecord(value)) return 'expected an object';
  if ('type' in value)
    return value.type === 'ready' && keysWithin(value, 'type', 'type', 'type')
      ? { type: 'ready' }
      : 'not a ready message';
  const id = value.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return 'invalid id';
  if (value.ok === true) return keysWithin(value, 'id', 'ok', 'value') ? (value as Envelope) : 'unrecognized key';
  if (value.ok !== false) return 'invalid ok';
  if (!keysWithin(value, 'id', 'ok', 'error')) return 'unrecognized key';
  const error = value.error;
  if (!isRecord(error) || !keysWithin(error, 'code', 'message', 'message')) return 'invalid error';
  if (typeof error.code !== 'string' || !HOST_ERROR_CODE_SET.has(error.code)) return 'invalid error code';
  if (typeof error.message !== 'string' || error.message.length > 64 * 1024) return 'invalid error message';
  return value as Envelope;
}

/** What a reply's value must fit: a zod schema, or a hand-written check with safeParse's shape. */
export interface ReplyCheck {
  safeParse(
    value: unknown,
  ): { success: true; data: unknown } | { success: false; error: { issues: readonly ZodLikeIssue[] } };
}
interface ZodLikeIssue {
  message: string;
  path: readonly PropertyKey[];
}

/** Frames over this are a violation (results and logs are capped well below it by the limits). */
const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** The first issue of a failed parse, as text for the violation message. */
export function issueOf(error: { issues: readonly ZodLikeIssue[] }): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.map(String).join('.')}` : '';
  return `${issue?.message ?? 'invalid'}${where}`;
}

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
  /** Largest frame a host may send (bytes); a larger one is a protocol violation. */
  maxFrameBytes?: number;
  /**
   * When the hosts are spawned: at start() (default), or on the first request, so a worker that
   * never uses the tier does not hold the processes (the first request waits for their start).
   */
  startOn?: 'boot' | 'first-use';
  /** Settings for the hosts, as environment variables of their processes. */
  env?: Record<string, string>;
}

export interface RequestOptions {
  /** Requests with the same key go to the same host when it is not much busier (warm caches). */
  key?: string;
  signal?: AbortSignal;
  /** How long a host may take to honour a cancel before it is killed. */
  killAfterMs?: number;
  /** What the reply's value must look like; a value that fails it is a protocol violation. */
  schema?: ReplyCheck;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  host: Host;
  cleanup: () => void;
  schema: ReplyCheck | undefined;
}

interface Host {
  index: number;
  child: ChildProcess;
  channel: Socket;
  /** Writes to `channel`, batched per event-loop turn (host-channel.ts). */
  write: (frame: Buffer) => void;
  isReady: boolean;
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
  /** The hosts have been spawned (at start, or by the first request with startOn first-use). */
  #spawned = false;
  #restarts = 0;
  #violations = 0;
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
    if (this.#options.startOn === 'first-use') return;
    await this.#spawnAll();
  }

  #spawnAll(): Promise<unknown> {
    this.#spawned = true;
    return Promise.all(this.#hosts.map((_, index) => this.#spawn(index).ready));
  }

  /** Send one request to a host and resolve with its reply. */
  request<R>(message: HostRequest, options: RequestOptions = {}): Promise<R> {
    if (this.#disposed)
      return Promise.reject(new StrataError('shutting_down', `the ${this.kind} tier is shutting down`));
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    if (!this.#spawned && this.#started) void this.#spawnAll().catch(() => {});
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
        this.#send(host, { id, type: 'cancel' });
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
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        host,
        cleanup,
        schema: options.schema,
      });
      host.ready.then(
        () => {
          if (host.exited || !this.#pending.has(id)) return;
          if (!this.#send(host, { ...message, id }))
            this.#settle(id, false, toError('sandbox_crashed', `cannot reach the ${this.kind} host`));
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
      protocolViolations: this.#violations,
      inFlight: this.#pending.size,
      ...(this.#lastCrash ? { lastCrash: this.#lastCrash } : {}),
    };
    if (!this.#started) return { available: false, reason: `the ${this.kind} hosts are not started`, details };
    // Nothing has asked for a host yet: they start with the first request.
    if (!this.#spawned) return { available: true, details: { ...details, startsOnFirstUse: true } };
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
        schema: undefined,
      });
      host.ready.then(
        () => void this.#send(host, { ...message, id }),
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
    const args = [this.kind, 'host', String(index), ...(this.#options.args ?? [])];
    // Not fork(): fd 3 is the private host channel (host-channel.ts) and there is no Node IPC
    // channel at all. No loader flags or inspector ports are inherited (vitest, --inspect).
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', this.#options.entry, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...this.#options.env,
        STRATA_HOST_NAME: name,
        STRATA_HOST_CHANNEL: String(HOST_CHANNEL_FD),
      },
    });
    let markReady: () => void = () => {};
    let markFailed: (e: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    ready.catch(() => {});
    const channel = child.stdio[HOST_CHANNEL_FD] as Socket;
    const host: Host = {
      index,
      child,
      channel,
      write: batchedWriter(channel),
      isReady: false,
      ready,
      inFlight: 0,
      placement: undefined,
      exited: false,
    };
    this.#hosts[index] = host;
    const logger = this.#options.logger;
    // Host output is only logged, a bounded slice of each chunk.
    child.stdout?.on('data', (chunk: Buffer) =>
      logger?.debug({ host: name }, chunk.toString('utf8', 0, 4096).trimEnd()),
    );
    let stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8', 0, 4096);
      stderrTail = (stderrTail + text).slice(-2000);
      logger?.warn({ host: name }, text.trimEnd());
    });
    const reader = new HostFrameReader(this.#options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    channel.on('error', (err) => logger?.warn({ host: name, err: err.message }, 'host channel error'));
    channel.on('data', (chunk: Buffer) => {
      const read = reader.push(chunk);
      if (read.violation) {
        this.#violate(host, read.violation);
        return;
      }
      for (const value of read.values) {
        if (host.exited) return;
        const violation = this.#readReply(host, value, () => {
          markReady();
          for (const waiter of this.#hostWaiters) waiter();
          this.#hostWaiters.clear();
        });
        if (violation) {
          this.#violate(host, violation);
          return;
        }
      }
    });
    child.on('error', (err) => logger?.error({ host: name, err }, 'host process error'));
    child.on('exit', (code, signal) => {
      host.exited = true;
      channel.destroy();
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

  /** Write a request frame; false when the host cannot be reached. */
  #send(host: Host, message: HostRequest & { id: number }): boolean {
    if (host.exited || host.channel.destroyed) return false;
    try {
      host.write(encodeRequest(message));
      return true;
    } catch (err) {
      this.#options.logger?.warn({ host: host.index, err: String(err) }, 'cannot write to the host');
      return false;
    }
  }

  /** One parsed value from a host, checked against the envelope, its request and its schema; the violation, if any. */
  #readReply(host: Host, value: unknown, onReady: () => void): string | undefined {
    const message = checkEnvelope(value);
    if (typeof message === 'string') return `a message that fails the schema: ${message}`;
    if ('type' in message) {
      if (host.isReady) return 'a second ready message';
      host.isReady = true;
      onReady();
      return undefined;
    }
    if (!host.isReady) return 'a reply before ready';
    const pending = this.#pending.get(message.id);
    if (!pending || pending.host !== host) return `a reply to request ${message.id}, which it does not hold`;
    if (!message.ok) {
      this.#settle(message.id, false, toError(message.error.code, message.error.message));
      return undefined;
    }
    if (pending.schema) {
      const checked = pending.schema.safeParse(message.value);
      if (!checked.success) return `a reply that fails the schema: ${issueOf(checked.error)}`;
      this.#settle(message.id, true, checked.data);
      return undefined;
    }
    this.#settle(message.id, true, message.value);
    return undefined;
  }

  /**
   * The host broke the protocol: kill it, end its in-flight requests with protocol_violation.
   * The exit handler replaces it as after any death.
   */
  #violate(host: Host, reason: string): void {
    if (host.exited) return;
    const message = `the ${this.kind} host broke the protocol (${reason}); it was destroyed`;
    this.#options.logger?.warn({ host: host.index, kind: this.kind, reason }, 'sandbox host protocol violation');
    this.#lastCrash = `${new Date().toISOString()} host ${host.index} protocol violation: ${reason}`;
    this.#violations++;
    for (const [id, pending] of this.#pending) {
      if (pending.host === host) this.#settle(id, false, toError('protocol_violation', message));
    }
    host.channel.destroy();
    host.child.kill('SIGKILL');
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
