/**
 * Runs JS functions in isolated-vm isolates, inside an isolate host process (never in the
 * process that serves HTTP). Two modes:
 * - warm: isolates are kept per function version (and memory limit) and reused, for trusted code;
 *   one invocation at a time per isolate, more isolates when calls overlap.
 * - fresh: a new isolate per invocation, from cached compiled code; spare blank isolates are made
 *   ahead of time so the create cost is off the request path.
 */
import ivm from 'isolated-vm';
import { StrataError } from '../../src/core/errors.ts';
import { LogBudget, type LogSnapshot } from '../../src/core/log-budget.ts';
import { BOOTSTRAP_SOURCE } from './bootstrap.ts';

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
  meta: { executionId: string; name: string; version: number };
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
}

interface Sandbox {
  isolate: ivm.Isolate;
  context: ivm.Context;
  runner: ivm.Reference<(...args: unknown[]) => Promise<unknown>>;
  memoryMb: number;
  /** Where the isolate's log chunks go during the current invocation. */
  logs: LogBudget | undefined;
  /** Why we disposed it ourselves, if we did (otherwise a disposal means the memory limit). */
  disposedBy: 'deadline' | 'cancel' | 'retire' | 'memory' | undefined;
  /** V8's heap limit for this isolate (memoryMb plus V8's young generation), read when it was idle. */
  heapLimitBytes: number;
  /** The loaded function (warm isolates keep it across invocations). */
  fn?: ivm.Reference<unknown>;
  /** Set when V8 lost control of the isolate; the host must die. */
  onCatastrophe?: (message: string) => void;
}

type RunnerOutcome =
  | { kind: 'ok'; json: string; logs: string }
  | { kind: 'threw'; name: string; message: string; stack: string; logs: string }
  | { kind: 'unserializable'; message: string; logs: string }
  | { kind: 'too_large'; size: number; logs: string };

const IMPORTS_REFUSED = (specifier: string): never => {
  throw new Error(
    `imports are not available in Strata functions ("${specifier}"); bundle dependencies into the module`,
  );
};

/** How often a running call's memory is looked at (host RSS, and whether V8 ended the isolate). */
const WATCH_MS = 20;
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

  constructor(options: IsolateRuntimeOptions) {
    this.#options = options;
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
    for (const [key, list] of this.#warm) {
      if (!key.startsWith(`${digest}/`)) continue;
      for (const sandbox of list) this.#retire(sandbox);
      this.#warm.delete(key);
    }
  }

  async run(request: RunRequest, signal: AbortSignal): Promise<RunReply> {
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
    this.#running++;
    this.#epoch++;
    try {
      const call = (async () => {
        if (!sandbox.fn) sandbox.fn = await this.#load(sandbox, request, remaining());
        return (await sandbox.runner.apply(
          undefined,
          [
            sandbox.fn.derefInto(),
            request.inputJson,
            // ctx's fields as JSON text: a string crosses into the isolate cheaper than an object copy.
            JSON.stringify({ ...request.meta, deadline: request.deadline }),
            request.resultBytes,
          ],
          { result: { promise: true, copy: true }, timeout: remaining() },
        )) as RunnerOutcome;
      })();
      // A disposed isolate's call may take seconds to come back (V8 finishing a GC): the memory
      // verdict does not wait for it.
      const outcome = await Promise.race([call, watch.ended]);
      if (outcome === 'memory') {
        const gone = () => {
          this.#zombieEnds++;
        };
        call.then(gone, gone);
        return { ...this.#memoryReply(sandbox), logs: logs.snapshot(), ...watch.usage() };
      }
      reusable = true;
      logs.write(outcome.logs);
      const usage = this.#usage(sandbox, cpuBefore, watch.peakBytes());
      // The isolate counts UTF-16 units; the cap is in bytes of JSON (multi-byte text is larger).
      const size = outcome.kind === 'ok' ? Buffer.byteLength(outcome.json) : 0;
      const checked: RunnerOutcome =
        size > request.resultBytes ? { kind: 'too_large', size, logs: outcome.logs } : outcome;
      return { ...replyFor(checked), logs: logs.snapshot(), ...usage };
    } catch (err) {
      if (watch.overLimit()) sandbox.disposedBy ??= 'memory';
      return {
        ...this.#errorReply(sandbox, err),
        logs: logs.snapshot(),
        ...this.#usage(sandbox, cpuBefore, watch.peakBytes()),
      };
    } finally {
      this.#running--;
      this.#epoch++;
      watch.stop();
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
    // freeing its heap) would otherwise hide this call's growth.
    let rssAtStart = process.memoryUsage.rss();
    let peakRss = rssAtStart;
    let epoch = this.#epoch;
    let zombieEnds = this.#zombieEnds;
    let lastRss = rssAtStart;
    let end: (why: 'memory') => void = () => {};
    const ended = new Promise<'memory'>((resolve) => {
      end = resolve;
    });
    const alone = () => this.#running === 1;
    const overLimit = () => alone() && peakRss - rssAtStart > overLimitBytes(sandbox.heapLimitBytes);
    const sample = () => {
      const rss = process.memoryUsage.rss();
      if (epoch !== this.#epoch) {
        // Another call started or ended, or a stopped isolate let go of its heap: start again.
        epoch = this.#epoch;
        rssAtStart = rss;
        peakRss = rss;
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
      /** RSS growth of the host while the call ran: the call's when it ran alone here. */
      peakBytes: () => (alone() ? peakRss - rssAtStart : undefined),
      usage: () => {
        const growth = peakRss - rssAtStart;
        return growth > 0 ? { memoryPeakBytes: growth } : {};
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
    const module = await sandbox.isolate.compileModule(request.source ?? '', {
      filename: 'function.js',
      ...(cachedData ? { cachedData } : { produceCachedData: true }),
    });
    const produced = (module as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
    if (!cachedData && produced) this.#codeCache.set(request.digest, produced);
    await module.instantiate(sandbox.context, (specifier) => IMPORTS_REFUSED(specifier));
    await module.evaluate({ timeout });
    const fn = await module.namespace.get('default', { reference: true });
    if (fn.typeof !== 'function') {
      throw new StrataError(
        'invalid_code',
        'the module has no default export function: write `export default async function (input, ctx) { ... }`',
      );
    }
    return fn;
  }

  async #newSandbox(memoryMb: number): Promise<Sandbox> {
    const sandbox = { memoryMb, logs: undefined, disposedBy: undefined } as unknown as Sandbox;
    sandbox.isolate = new ivm.Isolate({
      memoryLimit: memoryMb,
      // V8 lost control of this isolate (for example it could not stop a memory bomb in GC).
      onCatastrophicError: (message: string) => this.#options.onCatastrophe(message),
    });
    sandbox.heapLimitBytes = sandbox.isolate.getHeapStatisticsSync().heap_size_limit;
    sandbox.context = await sandbox.isolate.createContext();
    const flush = new ivm.Callback((chunk: string) => sandbox.logs?.write(chunk));
    sandbox.runner = (await sandbox.context.evalClosure(BOOTSTRAP_SOURCE, [flush], {
      result: { reference: true },
      timeout: 1000,
    })) as Sandbox['runner'];
    return sandbox;
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
        return await spare;
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

  #usage(
    sandbox: Sandbox,
    cpuBefore: bigint,
    rssPeak: number | undefined,
  ): { cpuMs?: number; memoryPeakBytes?: number } {
    const { isolate } = sandbox;
    if (isolate.isDisposed) return rssPeak !== undefined && rssPeak > 0 ? { memoryPeakBytes: rssPeak } : {};
    const cpuMs = Number(isolate.cpuTime - cpuBefore) / 1e6;
    const heap = isolate.getHeapStatisticsSync();
    const atEnd = heap.total_heap_size + heap.externally_allocated_size;
    return { cpuMs, memoryPeakBytes: Math.max(atEnd, rssPeak ?? 0) };
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

function replyFor(outcome: RunnerOutcome): Omit<RunReply, 'logs'> {
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
      return { status: 'failed', error: { code: 'function_error', message: `${outcome.name}: ${outcome.message}` } };
    case 'unserializable':
      return {
        status: 'failed',
        error: {
          code: 'result_not_serializable',
          message: `the result cannot be turned into JSON: ${outcome.message}`,
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
