/**
 * One plugin instance in its own worker thread, seen from the serving process: calls with a
 * budget, a liveness ping, termination. Every message from the thread is validated
 * (protocol.ts); one that does not fit ends the thread as a failing plugin.
 */
import { Worker } from 'node:worker_threads';
import type { CallOp, HostMessage, Ready, ThreadMessage } from './protocol.ts';
import { threadMessageSchema } from './protocol.ts';

export class PluginCallError extends Error {
  readonly why: 'threw' | 'overran' | 'dead';
  constructor(why: 'threw' | 'overran' | 'dead', message: string) {
    super(message);
    this.why = why;
  }
}

export interface ThreadEvents {
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, data?: Record<string, unknown>): void;
  metric(message: Extract<ThreadMessage, { t: 'metric' }>): void;
  alert(message: string, details?: Record<string, unknown>): void;
  runLog(runId: number, text: string): void;
  runStart(runId: number): void;
  health(health: Extract<ThreadMessage, { t: 'health' }>['health']): void;
  /** The thread ended without being asked (crashed, or sent something invalid). */
  exit(why: string): void;
}

type ResultMessage = Extract<ThreadMessage, { t: 'result' }>;
const isResult = (m: unknown): m is ResultMessage => {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return (
    r.t === 'result' &&
    Number.isInteger(r.id) &&
    typeof r.ok === 'boolean' &&
    (r.error === undefined || (typeof r.error === 'string' && r.error.length <= 10_000))
  );
};

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const THREAD_MAIN = new URL('./thread-main.mjs', import.meta.url);

export class PluginThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #events: ThreadEvents;
  #nextId = 1;
  #dead: string | undefined;
  #ready: Promise<Ready>;
  /** Calls sent and not answered yet. */
  inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options: { name: string; main: string; config: Record<string, unknown>; events: ThreadEvents }) {
    this.#events = options.events;
    this.#worker = new Worker(THREAD_MAIN, {
      workerData: { name: options.name, main: options.main, config: options.config },
      // A plugin's heap is its own: one that runs away hits this cap, not the worker's.
      resourceLimits: { maxOldGenerationSizeMb: 256 },
      // Not the serving process's flags (a test runner's loader hooks, inspector ports).
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    this.#worker.unref();
    this.#ready = new Promise<Ready>((resolve, reject) => {
      const onMessage = (raw: unknown) => {
        // The hot message (a call's answer) is checked by hand; the rest through the schema.
        if (isResult(raw)) return this.#onMessage(raw);
        const parsed = threadMessageSchema.safeParse(raw);
        if (!parsed.success) return this.#violation('an invalid message');
        const message = parsed.data;
        if (message.t === 'ready') resolve(message);
        else if (message.t === 'failed') reject(new PluginCallError('threw', message.error));
        else this.#onMessage(message);
      };
      this.#worker.on('message', onMessage);
      this.#worker.on('error', (err) => {
        this.#end(`the plugin thread crashed: ${err.message}`);
        reject(new PluginCallError('dead', `the plugin thread crashed: ${err.message}`));
      });
      this.#worker.on('exit', (code) => {
        this.#end(`the plugin thread exited (code ${code})`);
        reject(new PluginCallError('dead', `the plugin thread exited (code ${code})`));
      });
    });
    this.#ready.catch(() => {});
  }

  /** Resolves with what the plugin object has once its factory ran; bounded by `budgetMs`. */
  async ready(budgetMs: number): Promise<Ready> {
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new PluginCallError('overran', `did not load within its ${budgetMs} ms budget (plugins.loadBudget)`)),
        budgetMs,
      );
    });
    try {
      return await Promise.race([this.#ready, overrun]);
    } finally {
      clearTimeout(timer);
    }
  }

  get dead(): string | undefined {
    return this.#dead;
  }

  /** Call `op` in the thread; rejects with PluginCallError (threw, overran or dead). */
  call(op: CallOp, args: unknown[], budgetMs: number, onSent?: (id: number) => void): Promise<unknown> {
    if (this.#dead) return Promise.reject(new PluginCallError('dead', this.#dead));
    const id = this.#nextId++;
    this.inFlight++;
    // No .finally() and one timer: this runs twice per invocation with a pre and a post plugin.
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { resolve, reject, timer: undefined };
      pending.timer = setTimeout(() => {
        if (this.#pending.delete(id))
          this.#settle(pending, new PluginCallError('overran', `did not answer within its ${budgetMs} ms budget`));
      }, budgetMs);
      this.#pending.set(id, pending);
      try {
        this.#worker.postMessage({ t: 'call', id, op, args } satisfies HostMessage);
        onSent?.(id);
      } catch (err) {
        this.#pending.delete(id);
        this.#settle(pending, new PluginCallError('threw', `the arguments cannot be sent: ${(err as Error).message}`));
      }
    });
  }

  /** Ends one call: its timer, the in-flight count (idle waiters), then its promise. */
  #settle(pending: Pending, error: Error | undefined, value?: unknown): void {
    clearTimeout(pending.timer);
    this.inFlight--;
    if (this.inFlight === 0 && this.#idleWaiters.length > 0) for (const w of this.#idleWaiters.splice(0)) w();
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  abortRun(runId: number, reason: { code: string; message: string }): void {
    if (!this.#dead) this.#post({ t: 'abort', runId, reason });
  }

  /** Whether the thread's event loop answers within `ms` (false: it spins in synchronous code). */
  async alive(ms: number): Promise<boolean> {
    try {
      await this.call('ping', [], ms);
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves when no call is in flight, or after `ms`. */
  idle(ms: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async terminate(): Promise<void> {
    this.#end('the plugin was stopped');
    await this.#worker.terminate().catch(() => {});
  }

  #post(message: HostMessage): void {
    this.#worker.postMessage(message);
  }

  #onMessage(message: ThreadMessage): void {
    const events = this.#events;
    if (message.t === 'result') {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok) this.#settle(pending, undefined, message.value);
      else this.#settle(pending, new PluginCallError('threw', message.error ?? 'failed'));
    } else if (message.t === 'log') events.log(message.level, message.msg, message.data);
    else if (message.t === 'metric') events.metric(message);
    else if (message.t === 'alert') events.alert(message.message, message.details);
    else if (message.t === 'runLog') events.runLog(message.runId, message.text);
    else if (message.t === 'runStart') events.runStart(message.runId);
    else if (message.t === 'health') events.health(message.health);
  }

  #violation(what: string): void {
    const why = `the plugin thread sent ${what}; it was stopped`;
    void this.terminate();
    this.#events.exit(why);
  }

  #end(why: string): void {
    if (this.#dead) return;
    this.#dead = why;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      this.#settle(pending, new PluginCallError('dead', why));
    }
    if (why !== 'the plugin was stopped') this.#events.exit(why);
  }
}
