/**
 * Runs JS functions in isolated-vm isolates, inside an isolate host process (never in the
 * process that serves HTTP). Two modes:
 * - warm: isolates are kept per function version (and memory limit) and reused, for trusted code;
 *   one invocation at a time per isolate, more isolates when calls overlap.
 * - fresh: a new isolate per invocation, from cached compiled code; spare blank isolates are made
 *   ahead of time so the create cost is off the request path.
 */
import ivm from 'isolated-vm';
import { z } from 'zod';
import { StrataError } from '../../src/core/errors.ts';
import { LogBudget, type LogSnapshot } from '../../src/core/log-budget.ts';
import { capText } from '../../src/core/text-cap.ts';
import { BOOTSTRAP_SOURCE } from './bootstrap.ts';
import type { FetchEnd, FetchPolicy } from './guarded-fetch.ts';
import { ivmTimeoutMs } from './ivm-timeout.ts';
import { SyncCalls, type SyncCallsMode } from './sync-calls.ts';

export interface RunRequest {
  digest: string;
  /** Left out when the host already has it (sent with `check` or an earlier run). */
  source?: string;
  mode: 'warm' | 'fresh';
  inputJson: string;
  deadline: number;
  memoryMb: number;
  logBytes: number;
  resultBytes: number;
  /** Error text is cut to this here, so no more than this ever leaves the host. */
  errorBytes: number;
  meta: { executionId: string; name: string; version: number };
  /** What ctx.fetch may reach (the function's allow-list and the node's guard settings); absent: nothing. */
  net?: FetchPolicy;
}

export interface RunReply {
  status: 'succeeded' | 'failed' | 'timeout' | 'memory_exceeded' | 'killed';
  resultJson?: string;
  error?: { code: string; message: string };
  logs: LogSnapshot;
  cpuMs?: number;
  memoryPeakBytes?: number;
  /** Log bytes written after an earlier invocation of this isolate ended: dropped, counted here. */
  lateLogBytes?: number;
  /** How this call started (warm isolate, fresh spare, or one made for it). */
  start?: { kind: 'warm' | 'fresh' | 'prewarmed' | 'cold'; initMs: number };
  /** Bytes ctx.fetch sent and received on its sockets (only for a run that may fetch). */
  netTxBytes?: number;
  netRxBytes?: number;
}

interface Sandbox {
  isolate: ivm.Isolate;
  context: ivm.Context;
  /** The bootstrap's run(fn, inputJson, metaJson, resultCap, call) and fire(call, id). */
  runner: ivm.Reference<(...args: unknown[]) => Promise<string>>;
  /** The same call on the host's thread: the outcome text, or '' while it is pending (then `wait`). */
  runNow: ivm.Reference<(...args: unknown[]) => string>;
  wait: ivm.Reference<() => Promise<string>>;
  fire: ivm.Reference<(call: number, id: number) => void>;
  deliver: ivm.Reference<(call: number, id: number, outcomeJson: string) => void>;
  /** The call in flight's ctx.fetch policy, its requests (stopped when it ends) and their bytes. */
  net: FetchPolicy | undefined;
  fetches: AbortController | undefined;
  netTx: number;
  netRx: number;
  /** The invocation in flight (its number), and its host-side timers. */
  call: number;
  timers: Map<number, NodeJS.Timeout>;
  /** When the call must be over (epoch ms): timers due later are not scheduled. */
  deadline: number;
  /** Calls this isolate has served (0: new, so the call's start is fresh/cold). */
  served: number;
  /** Made ahead of need (a spare): the call that takes it starts prewarmed. */
  spare: boolean;
  memoryMb: number;
  /** Where the isolate's log chunks go during the current invocation. */
  logs: LogBudget | undefined;
  /** Why we disposed it ourselves, if we did (otherwise a disposal means the memory limit). */
  disposedBy: 'deadline' | 'cancel' | 'retire' | 'memory' | undefined;
  /** V8's heap limit for this isolate (memoryMb plus V8's young generation), read when it was idle. */
  heapLimitBytes: number;
  /** Its heap when it was last idle (made, or a call ended): where a call's memory peak starts. */
  heapIdleBytes: number;
  /** Heap statistics read once when a call came back (the memory check and the usage share them). */
  heapAtEnd?: ivm.HeapStatistics;
  /** The loaded function (warm isolates keep it across invocations). */
  fn?: ivm.Reference<unknown>;
  /** Set when V8 lost control of the isolate; the host must die. */
  onCatastrophe?: (message: string) => void;
}

/** What the bootstrap's runner answers (one JSON string): the reference checkRunnerOutcome is held to. */
export const runnerOutcomeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ok'), json: z.string(), logs: z.string(), late: z.number().nonnegative() }),
  z.strictObject({
    kind: z.literal('threw'),
    name: z.string(),
    message: z.string(),
    logs: z.string(),
    late: z.number().nonnegative(),
  }),
  z.strictObject({
    kind: z.literal('unserializable'),
    message: z.string(),
    logs: z.string(),
    late: z.number().nonnegative(),
  }),
  z.strictObject({
    kind: z.literal('too_large'),
    size: z.number().nonnegative(),
    logs: z.string(),
    late: z.number().nonnegative(),
  }),
]);
type RunnerOutcome = z.infer<typeof runnerOutcomeSchema>;

const OUTCOME_KEYS: Record<string, ReadonlySet<string>> = {
  ok: new Set(['kind', 'json', 'logs', 'late']),
  threw: new Set(['kind', 'name', 'message', 'logs', 'late']),
  unserializable: new Set(['kind', 'message', 'logs', 'late']),
  too_large: new Set(['kind', 'size', 'logs', 'late']),
};
/** zod 4's z.number().nonnegative(): finite, at least 0. */
const isCount = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * runnerOutcomeSchema by hand, checked on every call (zod was a few % of a host's CPU): the same
 * accepted set (test/sandboxes/isolate/reply-check.test.ts compares the two).
 */
export function checkRunnerOutcome(value: unknown): RunnerOutcome | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const keys = typeof v.kind === 'string' && Object.hasOwn(OUTCOME_KEYS, v.kind) ? OUTCOME_KEYS[v.kind] : undefined;
  if (!keys) return undefined;
  for (const key in v) if (!keys.has(key)) return undefined;
  if (typeof v.logs !== 'string' || !isCount(v.late)) return undefined;
  switch (v.kind) {
    case 'ok':
      if (typeof v.json !== 'string') return undefined;
      break;
    case 'threw':
      if (typeof v.name !== 'string' || typeof v.message !== 'string') return undefined;
      break;
    case 'unserializable':
      if (typeof v.message !== 'string') return undefined;
      break;
    default:
      if (!isCount(v.size)) return undefined;
  }
  return v as RunnerOutcome;
}

/** Read the runner's answer; anything else (it cannot be, short of a V8 bug) is malformed. */
function readOutcome(raw: unknown): RunnerOutcome | undefined {
  if (typeof raw !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return checkRunnerOutcome(value);
}

const IMPORTS_REFUSED = (specifier: string): never => {
  throw new Error(
    `imports are not available in Strata functions ("${specifier}"); bundle dependencies into the module`,
  );
};

/** How often a running call's memory is looked at (host RSS, and whether V8 ended the isolate). */
const WATCH_MS = 20;
/** How long after the deadline a ctx.fetch still in flight is aborted, should the call's end not do it first. */
const FETCH_BACKSTOP_MS = 1000;
/**
 * RSS growth that means a call is past its memory limit: 1.5 times the isolate's heap limit plus
 * 16 MiB. RSS is more than the live heap (GC work space, pages V8 keeps after a collection,
 * compiled code): a 100 MB string within a 512 MiB limit grew RSS by 580 MB, so a tighter bound
 * would end code that is within its limit.
 */
const overLimitBytes = (heapLimit: number) => heapLimit * 1.5 + 16 * 1024 * 1024;

export interface IsolateRuntimeOptions {
  maxWarm: number;
  /** Called when an isolate is beyond repair (V8 catastrophic error): the host must exit. */
  onCatastrophe: (message: string) => void;
  /** `auto`: warm calls of a function proven fast run on the host's thread (see SyncCalls); `never`. */
  syncCalls?: SyncCallsMode;
  /** Fast calls in a row before a function runs on the host's thread (tests lower it). */
  syncStreak?: number;
}

export class IsolateRuntime {
  readonly #options: IsolateRuntimeOptions;
  /** Idle warm sandboxes per `${digest}/${memoryMb}`, most recently used last. */
  readonly #warm = new Map<string, Sandbox[]>();
  #warmCount = 0;
  /** V8 code cache per digest, produced by our own compile (never user-supplied). */
  readonly #codeCache = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();
  /** One blank spare isolate per memory limit, made ahead of need for fresh mode. */
  readonly #spares = new Map<number, Promise<Sandbox>>();
  /**
   * Calls running in this host now (RSS growth is only attributed to a call that runs alone, and
   * measured from the last time that changed: `#epoch`), and how many stopped isolates have let
   * go of their heap (a disposed isolate stuck in GC keeps it for seconds; when it lets go, the
   * drop is not the running call's).
   */
  #running = 0;
  #epoch = 0;
  #zombieEnds = 0;
  /** RSS the disposed isolates whose calls have not come back yet may still take (their limits). */
  #zombieAllowance = 0;
  readonly #syncCalls: SyncCalls;
  /** Invocation numbers (the bootstrap tells its invocations apart by them). */
  #calls = 0;
  /** Log bytes written after their invocation ended, dropped (counted for health and tests). */
  lateLogBytes = 0;

  constructor(options: IsolateRuntimeOptions) {
    this.#options = options;
    this.#syncCalls = new SyncCalls(options.syncCalls ?? 'auto', options.syncStreak);
  }

  /** Warm calls run on this thread so far, and functions sent back to the isolate's thread. */
  get syncStats(): { hostThreadCalls: number; demotions: number } {
    return { hostThreadCalls: this.#syncCalls.hostThreadCalls, demotions: this.#syncCalls.demotions };
  }

  /** Compile without running anything: a syntax check at deploy time, and it fills the code cache. */
  async check(digest: string, source: string): Promise<void> {
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const module = await isolate.compileModule(source, { filename: 'function.js', produceCachedData: true });
      if (module.dependencySpecifiers.length > 0) IMPORTS_REFUSED(module.dependencySpecifiers[0] as string);
      const cached = (module as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
      if (cached) this.#codeCache.set(digest, cached);
    } catch (err) {
      throw new StrataError('invalid_code', `the module does not compile: ${(err as Error).message}`);
    } finally {
      isolate.dispose();
    }
  }

  forget(digest: string): void {
    this.#codeCache.delete(digest);
    this.#syncCalls.forget(digest);
    for (const [key, list] of this.#warm) {
      if (!key.startsWith(`${digest}/`)) continue;
      for (const sandbox of list) this.#retire(sandbox);
      this.#warm.delete(key);
    }
  }

  async run(request: RunRequest, signal: AbortSignal): Promise<RunReply> {
    const takenAt = performance.now();
    const logs = new LogBudget(request.logBytes);
    let sandbox: Sandbox;
    try {
      sandbox = request.mode === 'warm' ? await this.#takeWarm(request) : await this.#takeFresh(request);
    } catch (err) {
      return failure(err, logs);
    }
    sandbox.logs = logs;
    const { isolate } = sandbox;
    const cpuBefore = isolate.cpuTime;
    // How it started: a warm isolate that served before, a spare made ahead of need, or one
    // made for this call; initMs is the time until the function's code began.
    const startKind =
      sandbox.served > 0 ? 'warm' : sandbox.spare ? 'prewarmed' : request.mode === 'warm' ? 'cold' : 'fresh';
    sandbox.served++;
    let codeAt: number | undefined;
    const startOf = (): RunReply['start'] => ({
      kind: startKind,
      initMs: Math.round(((codeAt ?? performance.now()) - takenAt) * 100) / 100,
    });
    const stop = (why: 'deadline' | 'cancel' | 'memory') => {
      if (isolate.isDisposed) return;
      sandbox.disposedBy = why;
      isolate.dispose();
    };
    const remaining = () => Math.max(1, request.deadline - Date.now());
    const watch = this.#watchMemory(sandbox, () => stop('memory'));
    const timer = setTimeout(() => {
      // At the deadline a call that is over its memory limit (V8 thrashing in GC) ends as what it is.
      if (watch.overLimit()) stop('memory');
      else stop('deadline');
    }, remaining());
    const onAbort = () => stop('cancel');
    signal.addEventListener('abort', onAbort, { once: true });
    // A cancel that came while the sandbox was being taken or loaded never fires the listener.
    if (signal.aborted) onAbort();
    // Only an isolate whose call came back normally is reused: one stopped by a timeout (the
    // call's own, which leaves it alive) may hold half-updated state.
    let reusable = false;
    // A warm function proven fast runs on this thread (no hop to the isolate's thread and back).
    const onHostThread = request.mode === 'warm' && this.#syncCalls.onHostThread(request.digest);
    let syncMs: number | undefined;
    this.#running++;
    this.#epoch++;
    try {
      const call = (async () => {
        if (!sandbox.fn) sandbox.fn = await this.#load(sandbox, request, ivmTimeoutMs(request.deadline));
        sandbox.call = ++this.#calls;
        sandbox.deadline = request.deadline;
        sandbox.net = request.net;
        // Made on the call's first ctx.fetch (most calls never fetch; an abort costs a DOMException).
        sandbox.fetches = undefined;
        sandbox.netTx = 0;
        sandbox.netRx = 0;
        const args = [
          sandbox.fn.derefInto(),
          request.inputJson,
          // ctx's fields as JSON text: a string crosses into the isolate cheaper than an object copy.
          JSON.stringify({ ...request.meta, deadline: request.deadline }),
          request.resultBytes,
          sandbox.call,
          request.errorBytes,
        ];
        codeAt = performance.now();
        if (onHostThread) {
          const now = sandbox.runNow.applySync(undefined, args, {
            result: { copy: true },
            timeout: ivmTimeoutMs(request.deadline),
          });
          syncMs = performance.now() - codeAt;
          if (now !== '') return now;
          return sandbox.wait.apply(undefined, [], {
            result: { promise: true, copy: true },
            timeout: ivmTimeoutMs(request.deadline),
          });
        }
        return sandbox.runner.apply(undefined, args, {
          result: { promise: true, copy: true },
          timeout: ivmTimeoutMs(request.deadline),
        });
      })();
      // A disposed isolate's call may take seconds to come back (V8 finishing a GC): the memory
      // verdict does not wait for it.
      const raw = await Promise.race([call, watch.ended]);
      if (raw === 'memory') {
        // Until its call comes back, the disposed isolate may still grow the host's RSS (V8
        // finishing a GC): that growth is allowed for in every other call's watch meanwhile.
        const allowance = overLimitBytes(sandbox.heapLimitBytes);
        this.#zombieAllowance += allowance;
        const gone = () => {
          this.#zombieAllowance -= allowance;
          this.#zombieEnds++;
        };
        call.then(gone, gone);
        return { ...this.#memoryReply(sandbox), logs: logs.snapshot(), ...watch.usage(), start: startOf() };
      }
      const outcome = readOutcome(raw);
      if (!outcome) {
        return {
          status: 'failed',
          error: {
            code: 'malformed_outcome',
            message: "the function's outcome could not be read (it is not what the runner returns)",
          },
          logs: logs.snapshot(),
          start: startOf(),
        };
      }
      // V8 only checks its limit in a GC: a call can end (a 100 MB string in a 32 MiB isolate)
      // over it. The heap right after the call says so.
      if (!isolate.isDisposed) {
        const heap = isolate.getHeapStatisticsSync();
        sandbox.heapAtEnd = heap;
        if (heap.used_heap_size + heap.externally_allocated_size > sandbox.heapLimitBytes) {
          logs.write(outcome.logs);
          return {
            ...this.#memoryReply(sandbox),
            logs: logs.snapshot(),
            ...this.#usage(sandbox, cpuBefore, watch.peakBytes()),
            start: startOf(),
          };
        }
      }
      reusable = true;
      logs.write(outcome.logs);
      if (outcome.late > 0) this.lateLogBytes += outcome.late;
      const usage = this.#usage(sandbox, cpuBefore, watch.peakBytes());
      // The isolate counts UTF-16 units; the cap is in bytes of JSON (multi-byte text is larger).
      const size = outcome.kind === 'ok' ? Buffer.byteLength(outcome.json) : 0;
      const checked: RunnerOutcome =
        size > request.resultBytes ? { kind: 'too_large', size, logs: outcome.logs, late: outcome.late } : outcome;
      return {
        ...replyFor(checked, request.errorBytes),
        logs: logs.snapshot(),
        ...usage,
        ...netUsage(sandbox),
        ...(outcome.late > 0 ? { lateLogBytes: outcome.late } : {}),
        start: startOf(),
      };
    } catch (err) {
      if (watch.overLimit()) sandbox.disposedBy ??= 'memory';
      const reply = this.#errorReply(sandbox, err);
      if (reply.error) reply.error.message = capText(reply.error.message, request.errorBytes, 'error message');
      return {
        ...reply,
        logs: logs.snapshot(),
        ...this.#usage(sandbox, cpuBefore, watch.peakBytes()),
        ...netUsage(sandbox),
        start: startOf(),
      };
    } finally {
      if (request.mode === 'warm' && codeAt !== undefined) {
        // The call's own CPU time in the isolate, not its wall time: under load a call waits for
        // the isolate's thread and for time slices, and that wait said "slow" of nearly every call
        // on the isolate's thread (32 connections: 1 call in 20 took the host's thread).
        const ms = isolate.isDisposed
          ? (syncMs ?? performance.now() - codeAt)
          : Number(isolate.cpuTime - cpuBefore) / 1e6;
        this.#syncCalls.record(request.digest, ms, reusable);
      }
      this.#running--;
      this.#epoch++;
      watch.stop();
      this.#clearTimers(sandbox);
      sandbox.fetches?.abort();
      sandbox.fetches = undefined;
      sandbox.net = undefined;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sandbox.logs = undefined;
      if (request.mode === 'warm' && reusable && !isolate.isDisposed) this.#returnWarm(request, sandbox);
      else this.#retire(sandbox);
    }
  }

  /**
   * Watch a running call's memory without the isolate's lock (heap statistics need it, and a call
   * stuck in GC never gives it up): the host's RSS growth since the call began, attributable to
   * the call when it is the only one running here, past the isolate's heap limit plus a slack ends
   * it `memory_exceeded` at once; so does V8 ending the isolate itself (isolated-vm disposes it at
   * its limit), seen as a disposal nobody asked for. The verdict so depends on what the call
   * allocated, not on how fast the machine is.
   */
  #watchMemory(sandbox: Sandbox, kill: () => void) {
    const { isolate } = sandbox;
    // The baseline is the lowest RSS seen during the call: an isolate disposed just before (still
    // freeing its heap) would otherwise hide this call's growth. It is first read at the first
    // sample (the call's own start moves the epoch, which resets it there anyway), so a call
    // shorter than one sample reads no RSS at all (that read was a tenth of a host's CPU).
    let rssAtStart = 0;
    let peakRss = 0;
    let epoch = -1;
    // Read when the isolate was last idle (a lock now would cost every call).
    const heapAtStart = sandbox.heapIdleBytes;
    /** Another call ran beside this one at some sample: its growth is not this call's alone. */
    let shared = false;
    let zombieEnds = this.#zombieEnds;
    let lastRss = 0;
    let end: (why: 'memory') => void = () => {};
    const ended = new Promise<'memory'>((resolve) => {
      end = resolve;
    });
    // The host's own heap when the watch began (read at the first sample: a call shorter than one
    // sample never needs it). Garbage the host itself makes while serving the call (its log lines,
    // frames) grows RSS too, but it is not the isolate's: it is taken off before a verdict.
    let hostHeapAtStart: number | undefined;
    const limit = overLimitBytes(sandbox.heapLimitBytes);
    const alone = () => this.#running === 1;
    const overLimit = () => {
      const allowed = limit + this.#zombieAllowance;
      if (!alone() || peakRss - rssAtStart <= allowed) return false;
      const hostHeapGrowth = Math.max(0, process.memoryUsage().heapTotal - (hostHeapAtStart ?? Infinity));
      return peakRss - rssAtStart - hostHeapGrowth > allowed;
    };
    const sample = () => {
      const rss = process.memoryUsage.rss();
      hostHeapAtStart ??= process.memoryUsage().heapTotal;
      if (this.#running > 1) shared = true;
      if (epoch !== this.#epoch) {
        // The first sample, or another call started or ended, or a stopped isolate let go of its
        // heap: start again.
        epoch = this.#epoch;
        rssAtStart = rss;
        peakRss = rss;
        lastRss = rss;
        hostHeapAtStart = process.memoryUsage().heapTotal;
      }
      if (zombieEnds !== this.#zombieEnds) {
        zombieEnds = this.#zombieEnds;
        const drop = Math.max(0, lastRss - rss);
        rssAtStart -= drop;
        peakRss -= drop;
      }
      lastRss = rss;
      if (rss < rssAtStart) rssAtStart = rss;
      peakRss = Math.max(peakRss, rss);
    };
    const tick = () => {
      sample();
      if (isolate.isDisposed) {
        if (sandbox.disposedBy === undefined || sandbox.disposedBy === 'memory') {
          sandbox.disposedBy = 'memory';
          end('memory');
        }
        return;
      }
      if (overLimit()) {
        kill();
        end('memory');
      }
    };
    const interval = setInterval(tick, WATCH_MS);
    return {
      ended,
      overLimit: () => {
        sample();
        return overLimit();
      },
      /**
       * The call's memory high-water mark: its heap when it began plus the most the host grew
       * while it ran (sampled every WATCH_MS), when it ran alone; undefined when another call
       * shared the host at some point (then no honest peak is known).
       */
      peakBytes: () => (shared || !alone() ? undefined : heapAtStart + Math.max(0, peakRss - rssAtStart)),
      usage: () => {
        const peak = shared || !alone() ? undefined : heapAtStart + Math.max(0, peakRss - rssAtStart);
        return peak !== undefined ? { memoryPeakBytes: peak } : {};
      },
      stop: () => clearInterval(interval),
    };
  }

  #memoryReply(sandbox: Sandbox): Omit<RunReply, 'logs'> {
    return {
      status: 'memory_exceeded',
      error: {
        code: 'memory_exceeded',
        message: `the function used more than its ${sandbox.memoryMb} MiB memory limit`,
      },
    };
  }

  /** Compile (with our cached data), link (no imports) and evaluate the module; get its default export. */
  async #load(sandbox: Sandbox, request: RunRequest, timeout: number): Promise<ivm.Reference<unknown>> {
    const cachedData = this.#codeCache.get(request.digest);
    // With our code cache the compile is a deserialisation: done here, without a thread hop. A
    // first compile (no cache yet) may be long, so it runs on the isolate's thread.
    const module = cachedData
      ? sandbox.isolate.compileModuleSync(request.source ?? '', { filename: 'function.js', cachedData })
      : await sandbox.isolate.compileModule(request.source ?? '', { filename: 'function.js', produceCachedData: true });
    const produced = (module as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
    if (!cachedData && produced) this.#codeCache.set(request.digest, produced);
    module.instantiateSync(sandbox.context, (specifier) => IMPORTS_REFUSED(specifier));
    // The module's top-level code is user code: it runs on the isolate's thread, under the deadline.
    await module.evaluate({ timeout });
    const fn = module.namespace.getSync('default', { reference: true });
    if (fn.typeof !== 'function') {
      throw new StrataError(
        'invalid_code',
        'the module has no default export function: write `export default async function (input, ctx) { ... }`',
      );
    }
    return fn;
  }

  async #newSandbox(memoryMb: number): Promise<Sandbox> {
    const sandbox = {
      memoryMb,
      logs: undefined,
      disposedBy: undefined,
      call: 0,
      timers: new Map(),
      deadline: 0,
      served: 0,
      spare: false,
    } as unknown as Sandbox;
    sandbox.isolate = new ivm.Isolate({
      memoryLimit: memoryMb,
      // V8 lost control of this isolate (for example it could not stop a memory bomb in GC).
      onCatastrophicError: (message: string) => this.#options.onCatastrophe(message),
    });
    const heap = sandbox.isolate.getHeapStatisticsSync();
    sandbox.heapLimitBytes = heap.heap_size_limit;
    sandbox.heapIdleBytes = heap.total_heap_size + heap.externally_allocated_size;
    // Our own setup runs on this thread (the *Sync calls): each async step would cost a hop to the
    // isolate's thread and back, and none of it runs user code.
    sandbox.context = sandbox.isolate.createContextSync();
    const flush = new ivm.Callback((chunk: unknown) => {
      if (typeof chunk === 'string') sandbox.logs?.write(chunk);
    });
    const schedule = new ivm.Callback(
      (call: unknown, id: unknown, ms: unknown) => this.#schedule(sandbox, call, id, ms),
      {
        ignored: true,
      },
    );
    const fetchOnHost = new ivm.Callback(
      (call: unknown, id: unknown, url: unknown, init: unknown) => this.#fetch(sandbox, call, id, url, init),
      { ignored: true },
    );
    const exports = sandbox.context.evalClosureSync(BOOTSTRAP_SOURCE, [flush, schedule, fetchOnHost], {
      result: { reference: true },
      timeout: 1000,
    }) as ivm.Reference<{ run: unknown; runNow: unknown; wait: unknown; fire: unknown; deliver: unknown }>;
    sandbox.runner = exports.getSync('run', { reference: true }) as Sandbox['runner'];
    sandbox.runNow = exports.getSync('runNow', { reference: true }) as Sandbox['runNow'];
    sandbox.wait = exports.getSync('wait', { reference: true }) as Sandbox['wait'];
    sandbox.fire = exports.getSync('fire', { reference: true }) as Sandbox['fire'];
    sandbox.deliver = exports.getSync('deliver', { reference: true }) as Sandbox['deliver'];
    exports.release();
    return sandbox;
  }

  /** A timer of the call in flight is due in `ms`: call back into the isolate then (within the deadline). */
  #schedule(sandbox: Sandbox, call: unknown, id: unknown, ms: unknown): void {
    if (call !== sandbox.call || typeof id !== 'number' || typeof ms !== 'number') return;
    if (sandbox.isolate.isDisposed || Date.now() + ms > sandbox.deadline) return;
    const previous = sandbox.timers.get(id);
    if (previous) clearTimeout(previous);
    const handle = setTimeout(() => {
      sandbox.timers.delete(id);
      if (call !== sandbox.call || sandbox.isolate.isDisposed) return;
      const timeout = Math.max(1, sandbox.deadline - Date.now());
      // A callback that throws is logged by the bootstrap; one that runs past the deadline is
      // stopped with the call.
      sandbox.fire.apply(undefined, [call, id], { timeout }).catch(() => {});
    }, ms);
    sandbox.timers.set(id, handle);
  }

  /**
   * ctx.fetch of the call in flight: made here, in the host process, through the SSRF guard,
   * bounded by the call's deadline (and its end); the answer goes back into the isolate as text.
   */
  #fetch(sandbox: Sandbox, call: unknown, id: unknown, url: unknown, init: unknown): void {
    if (call !== sandbox.call || typeof id !== 'number' || typeof url !== 'string' || typeof init !== 'string') return;
    if (sandbox.isolate.isDisposed) return;
    sandbox.fetches ??= new AbortController();
    const controller = sandbox.fetches;
    const deliver = (outcome: object) => {
      // At or past the deadline the call is over: the deadline's own timer ends it `timeout`
      // (an answer delivered now would let a function that catches fetch errors "succeed").
      if (call !== sandbox.call || sandbox.isolate.isDisposed || Date.now() >= sandbox.deadline) return;
      const timeout = Math.max(1, sandbox.deadline - Date.now());
      sandbox.deliver.apply(undefined, [call, id, JSON.stringify(outcome)], { timeout }).catch(() => {});
    };
    const policy = sandbox.net;
    if (!policy) {
      deliver({
        error: {
          code: 'destination_forbidden',
          message: `ctx.fetch: ${url.slice(0, 200)} is not reachable: the function has no permissions.network allow-list`,
        },
      });
      return;
    }
    // The call's end aborts `controller`; the timeout is only a backstop after the deadline.
    const signal = AbortSignal.any([
      controller.signal,
      AbortSignal.timeout(Math.max(1, sandbox.deadline - Date.now()) + FETCH_BACKSTOP_MS),
    ]);
    void loadGuardedFetch()
      .then((guardedFetch) => guardedFetch(url, init, policy, signal))
      .catch(
        (cause: unknown): FetchEnd => ({
          error: { code: 'network_error', message: `ctx.fetch: ${(cause as Error)?.message ?? String(cause)}` },
          tx: 0,
          rx: 0,
        }),
      )
      .then((end) => {
        sandbox.netTx += end.tx;
        sandbox.netRx += end.rx;
        const { tx: _tx, rx: _rx, ...outcome } = end;
        deliver(outcome);
      });
  }

  #clearTimers(sandbox: Sandbox): void {
    for (const handle of sandbox.timers.values()) clearTimeout(handle);
    sandbox.timers.clear();
    sandbox.call = 0;
  }

  async #takeFresh(request: RunRequest): Promise<Sandbox> {
    const spare = this.#spares.get(request.memoryMb);
    this.#spares.delete(request.memoryMb);
    // Replace the spare off the request path.
    setImmediate(() => {
      if (!this.#spares.has(request.memoryMb)) {
        const next = this.#newSandbox(request.memoryMb);
        next.catch(() => this.#spares.delete(request.memoryMb));
        this.#spares.set(request.memoryMb, next);
      }
    });
    if (spare) {
      try {
        const ready = await spare;
        ready.spare = true;
        return ready;
      } catch {
        // fall through to a new one
      }
    }
    return this.#newSandbox(request.memoryMb);
  }

  async #takeWarm(request: RunRequest): Promise<Sandbox> {
    const key = `${request.digest}/${request.memoryMb}`;
    const idle = this.#warm.get(key);
    const sandbox = idle?.pop();
    if (sandbox) {
      this.#warmCount--;
      return sandbox;
    }
    return this.#newSandbox(request.memoryMb);
  }

  #returnWarm(request: RunRequest, sandbox: Sandbox): void {
    const key = `${request.digest}/${request.memoryMb}`;
    let list = this.#warm.get(key);
    if (!list) {
      list = [];
      this.#warm.set(key, list);
    }
    // Keep the warm set bounded: drop this key's oldest, then the least recently used key's.
    list.push(sandbox);
    this.#warmCount++;
    this.#warm.delete(key);
    this.#warm.set(key, list);
    while (this.#warmCount > this.#options.maxWarm) {
      const [oldestKey, oldest] = this.#warm.entries().next().value as [string, Sandbox[]];
      const victim = oldest.shift();
      if (victim) {
        this.#warmCount--;
        this.#retire(victim);
      }
      if (oldest.length === 0) this.#warm.delete(oldestKey);
    }
  }

  #retire(sandbox: Sandbox): void {
    if (sandbox.isolate.isDisposed) return;
    sandbox.disposedBy = 'retire';
    sandbox.isolate.dispose();
  }

  /**
   * CPU time, and the memory peak: the larger of the sampled high-water mark and the heap at the
   * end. Left out of `measured` when the call shared the host (no sampled peak is its own).
   */
  #usage(
    sandbox: Sandbox,
    cpuBefore: bigint,
    sampledPeak: number | undefined,
  ): { cpuMs?: number; memoryPeakBytes?: number } {
    const { isolate } = sandbox;
    if (isolate.isDisposed) return sampledPeak !== undefined ? { memoryPeakBytes: sampledPeak } : {};
    const cpuMs = Number(isolate.cpuTime - cpuBefore) / 1e6;
    const heap = sandbox.heapAtEnd ?? isolate.getHeapStatisticsSync();
    sandbox.heapAtEnd = undefined;
    const atEnd = heap.total_heap_size + heap.externally_allocated_size;
    sandbox.heapIdleBytes = atEnd;
    if (sampledPeak === undefined) return { cpuMs };
    return { cpuMs, memoryPeakBytes: Math.max(atEnd, sampledPeak) };
  }

  #errorReply(sandbox: Sandbox, err: unknown): Omit<RunReply, 'logs'> {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof StrataError) return { status: 'failed', error: { code: err.code, message: err.message } };
    if (sandbox.disposedBy === 'memory') return this.#memoryReply(sandbox);
    if (sandbox.disposedBy === 'deadline' || /Script execution timed out/.test(message)) {
      return {
        status: 'timeout',
        error: { code: 'timeout', message: 'the function did not finish before its deadline' },
      };
    }
    if (sandbox.disposedBy === 'cancel')
      return { status: 'killed', error: { code: 'cancelled', message: 'the invocation was cancelled' } };
    if (/memory limit/i.test(message) || (sandbox.isolate.isDisposed && !sandbox.disposedBy))
      return this.#memoryReply(sandbox);
    return { status: 'failed', error: { code: 'function_error', message } };
  }
}

function replyFor(outcome: RunnerOutcome, errorBytes: number): Omit<RunReply, 'logs'> {
  switch (outcome.kind) {
    case 'ok':
      return { status: 'succeeded', resultJson: outcome.json };
    case 'threw':
      // V8 reports a failed ArrayBuffer allocation under the isolate's limit as a plain RangeError.
      if (outcome.name === 'RangeError' && /Array buffer allocation failed/.test(outcome.message)) {
        return {
          status: 'memory_exceeded',
          error: { code: 'memory_exceeded', message: `the function ran out of memory: ${outcome.message}` },
        };
      }
      return {
        status: 'failed',
        error: {
          code: 'function_error',
          message: capText(`${outcome.name}: ${outcome.message}`, errorBytes, 'error message'),
        },
      };
    case 'unserializable':
      return {
        status: 'failed',
        error: {
          code: 'result_not_serializable',
          message: capText(`the result cannot be turned into JSON: ${outcome.message}`, errorBytes, 'error message'),
        },
      };
    case 'too_large':
      return {
        status: 'failed',
        error: {
          code: 'result_too_large',
          message: `the result is at least ${outcome.size} bytes of JSON, over the result cap; return less or raise limits.resultBytes on the node`,
        },
      };
  }
}

function failure(err: unknown, logs: LogBudget): RunReply {
  if (err instanceof StrataError)
    return { status: 'failed', error: { code: err.code, message: err.message }, logs: logs.snapshot() };
  return {
    status: 'failed',
    error: { code: 'function_error', message: err instanceof Error ? err.message : String(err) },
    logs: logs.snapshot(),
  };
}

/** Network usage of a call that may fetch (a run without a policy measures none: left out). */
const netUsage = (sandbox: Sandbox): Pick<RunReply, 'netTxBytes' | 'netRxBytes'> =>
  sandbox.net ? { netTxBytes: sandbox.netTx, netRxBytes: sandbox.netRx } : {};

/**
 * ctx.fetch's guarded client (the SSRF guard and the http client, ~22 MB per host) is imported
 * on the first ctx.fetch call, not when the host starts: most hosts never fetch.
 */
let guardedFetchModule: Promise<typeof import('./guarded-fetch.ts')> | undefined;
function loadGuardedFetch(): Promise<typeof import('./guarded-fetch.ts')['guardedFetch']> {
  guardedFetchModule ??= import('./guarded-fetch.ts');
  return guardedFetchModule.then((m) => m.guardedFetch);
}
