/**
 * Running the hook phases of src/executor/phases.ts: each call bounded by a budget, pre hooks
 * failing fast, post hook errors collected into the record, monitor events delivered off the
 * invocation's path. With no hooks nothing here is called (the executor checks the lengths), so
 * an invocation without plugins allocates nothing for them.
 */
import type { ErrorCode } from '../core/errors.ts';
import type { ErrorInfo, ExecutionRecord } from '../core/execution.ts';
import type { InvocationView, MonitorEvent, MonitorHook, PhaseHooks, PostHook, PreHook } from './phases.ts';

/** The hooks one invocation uses, taken once when it is submitted. */
export interface HookSnapshot {
  pre: readonly PreHook[];
  post: readonly PostHook[];
  monitor: readonly MonitorHook[];
  /** Given back when the invocation's record is final (PhaseHooks.lease). */
  release?: () => void;
}

export const NO_HOOKS: HookSnapshot = Object.freeze({ pre: [], post: [], monitor: [] });

export function snapshotOf(hooks: PhaseHooks | undefined): HookSnapshot {
  if (!hooks) return NO_HOOKS;
  if (hooks.lease) {
    const lease = hooks.lease();
    if (lease.pre.length === 0 && lease.post.length === 0 && lease.monitor.length === 0) {
      lease.release();
      return NO_HOOKS;
    }
    let released = false;
    return {
      pre: lease.pre,
      post: lease.post,
      monitor: lease.monitor,
      release: () => {
        if (released) return;
        released = true;
        lease.release();
      },
    };
  }
  const pre = hooks.pre();
  const post = hooks.post();
  const monitor = hooks.monitor();
  if (pre.length === 0 && post.length === 0 && monitor.length === 0) return NO_HOOKS;
  return { pre, post, monitor };
}

type Called<T> = { ok: true; value: T } | { ok: false; why: 'threw' | 'overran' | 'aborted'; message: string };

const OVERRUN = Symbol('overrun');

/**
 * Call a hook with its own signal, which fires when the budget runs out or `outer` fires. An
 * async hook is awaited at most `budgetMs`; a synchronous one that took longer counts as an
 * overrun too (it held the event loop that long).
 */
async function withBudget<T>(
  call: (signal: AbortSignal) => T | Promise<T>,
  budgetMs: number,
  outer?: AbortSignal,
  started = performance.now(),
): Promise<Called<T>> {
  if (outer?.aborted) return { ok: false, why: 'aborted', message: reasonText(outer.reason) };
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    let value = call(controller.signal);
    if (isThenable(value)) {
      const pending = value;
      value = await new Promise<T>((resolve, reject) => {
        timer = setTimeout(() => reject(OVERRUN), Math.max(0, budgetMs - (performance.now() - started)));
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
        pending.then(resolve, reject);
      });
    }
    if (performance.now() - started > budgetMs) return overran(budgetMs);
    return { ok: true, value: value as T };
  } catch (err) {
    if (err === OVERRUN) return overran(budgetMs);
    if (outer?.aborted) return { ok: false, why: 'aborted', message: reasonText(outer.reason) };
    return { ok: false, why: 'threw', message: reasonText(err) };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
    // Tell a hook still working (an overrun) that its answer is no longer wanted.
    if (!controller.signal.aborted) controller.abort(new Error('the hook call is over'));
  }
}

/**
 * A pre hook whose function takes no signal parameter (the governance gate, the tenant quota
 * gate, a plugin's adapter) cannot see its own signal, so none is made for it (an AbortController,
 * two listeners and an abort per call were ~5% of the worker's CPU per invocation). It gets the
 * invocation's signal as its second argument. A synchronous answer is checked against the budget
 * as in withBudget; a promise goes on to withBudget's race, with the same start time.
 */
async function withoutOwnSignal<T>(
  call: (signal: AbortSignal) => T | Promise<T>,
  budgetMs: number,
  outer: AbortSignal,
): Promise<Called<T>> {
  if (outer.aborted) return { ok: false, why: 'aborted', message: reasonText(outer.reason) };
  const started = performance.now();
  let value: T | Promise<T>;
  try {
    value = call(outer);
  } catch (err) {
    if (outer.aborted) return { ok: false, why: 'aborted', message: reasonText(outer.reason) };
    return { ok: false, why: 'threw', message: reasonText(err) };
  }
  if (isThenable(value)) {
    const pending = value;
    return withBudget(() => pending, budgetMs, outer, started);
  }
  if (performance.now() - started > budgetMs) return overran(budgetMs);
  return { ok: true, value };
}

const overran = (budgetMs: number): Called<never> => ({
  ok: false,
  why: 'overran',
  message: `did not answer within its ${budgetMs} ms budget (executor.hookBudget)`,
});

function isThenable(value: unknown): value is Promise<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function reasonText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string')
    return (err as { message: string }).message;
  return String(err);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export type PreResult =
  | { ok: true; input: unknown; replaced: boolean }
  /** `aborted`: the invocation's own signal fired (deadline, cancel) while a hook ran. */
  | { ok: false; error: ErrorInfo; aborted: boolean };

/** Run pre hooks in order; the first rejection, throw or overrun ends the phase. */
export async function runPre(
  hooks: readonly PreHook[],
  view: InvocationView,
  budgetMs: number,
  signal: AbortSignal,
): Promise<PreResult> {
  let replaced = false;
  for (const hook of hooks) {
    const budget = hook.budgetMs ?? budgetMs;
    const called =
      hook.pre.length < 2
        ? await withoutOwnSignal((s) => hook.pre(view, s), budget, signal)
        : await withBudget((s) => hook.pre(view, s), budget, signal);
    if (!called.ok) {
      if (called.why === 'aborted') return { ok: false, aborted: true, error: abortInfo(signal) };
      return {
        ok: false,
        aborted: false,
        error: { code: 'plugin_failed', message: `pre hook "${hook.name}" ${verb(called)}` },
      };
    }
    // A hook may return anything at run time, whatever its type says.
    const decision = called.value as unknown;
    if (decision === undefined || decision === null) continue;
    if (isPlainObject(decision) && typeof decision.reject === 'string') {
      const code = typeof decision.code === 'string' ? (decision.code as ErrorCode) : 'plugin_rejected';
      return { ok: false, aborted: false, error: { code, message: decision.reject } };
    }
    if (isPlainObject(decision) && 'input' in decision) {
      view.input = decision.input;
      replaced = true;
      continue;
    }
    return {
      ok: false,
      aborted: false,
      error: {
        code: 'plugin_failed',
        message: `pre hook "${hook.name}" returned ${describe(decision)}; a pre hook returns nothing, {input} or {reject}`,
      },
    };
  }
  return { ok: true, input: view.input, replaced };
}

const verb = (called: { why: string; message: string }) =>
  called.why === 'overran' ? called.message : `threw: ${called.message}`;

function abortInfo(signal: AbortSignal): ErrorInfo {
  const reason = signal.reason as { code?: unknown; message?: unknown } | undefined;
  if (reason && typeof reason.code === 'string' && typeof reason.message === 'string')
    return { code: reason.code as ErrorCode, message: reason.message };
  return { code: 'cancelled', message: 'the invocation was cancelled' };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (isPlainObject(value)) return `an object with keys ${Object.keys(value).slice(0, 5).join(', ') || '(none)'}`;
  return typeof value;
}

/**
 * Run post hooks in order on the finished record; each may change the result (of a succeeded
 * invocation), the logs (`fitLogs` bounds them) and add annotations. Errors are collected into
 * record.plugins.errors; the invocation stands.
 */
export async function runPost(
  hooks: readonly PostHook[],
  record: ExecutionRecord,
  budgetMs: number,
  fitLogs: (text: string) => string,
): Promise<void> {
  for (const hook of hooks) {
    const called = await withBudget((s) => hook.post(record, s), budgetMs);
    if (!called.ok) {
      pluginError(record, hook.name, 'post', `post hook "${hook.name}" ${verb(called)}`);
      continue;
    }
    const change = called.value as unknown;
    if (change === undefined || change === null) continue;
    if (!isPlainObject(change)) {
      pluginError(
        record,
        hook.name,
        'post',
        `post hook "${hook.name}" returned ${describe(change)}; expected nothing or {result?, logs?, annotations?}`,
      );
      continue;
    }
    if ('result' in change) {
      if (record.status === 'succeeded') record.result = change.result;
      else
        pluginError(
          record,
          hook.name,
          'post',
          `post hook "${hook.name}" changed the result of a ${record.status} invocation; only a succeeded one has a result`,
        );
    }
    if (change.logs !== undefined) {
      if (typeof change.logs === 'string') record.logs = fitLogs(change.logs);
      else pluginError(record, hook.name, 'post', `post hook "${hook.name}" returned logs that are not text`);
    }
    if (change.annotations !== undefined) {
      if (isPlainObject(change.annotations)) {
        record.plugins ??= {};
        record.plugins.annotations ??= {};
        record.plugins.annotations[hook.name] = change.annotations;
      } else
        pluginError(record, hook.name, 'post', `post hook "${hook.name}" returned annotations that are not an object`);
    }
  }
}

export function pluginError(record: ExecutionRecord, plugin: string, phase: string, message: string): void {
  record.plugins ??= {};
  record.plugins.errors ??= [];
  record.plugins.errors.push({ plugin, phase, message });
}

/**
 * Monitor events, queued and delivered on a later turn of the event loop so a monitor never
 * sits on an invocation's path. Bounded: past `maxQueued` undelivered events new ones are
 * dropped and counted.
 */
export class MonitorBus {
  #queue: { hooks: readonly MonitorHook[]; event: MonitorEvent }[] = [];
  #scheduled = false;
  readonly #maxQueued: number;
  readonly #onError: ((hook: string, err: unknown, event: MonitorEvent) => void) | undefined;
  /** Hook calls that threw. */
  errors = 0;
  /** Events dropped because the queue was full. */
  dropped = 0;

  constructor(
    options: { maxQueued?: number; onError?: (hook: string, err: unknown, event: MonitorEvent) => void } = {},
  ) {
    this.#maxQueued = options.maxQueued ?? 10_000;
    this.#onError = options.onError;
  }

  emit(hooks: readonly MonitorHook[], event: MonitorEvent): void {
    if (hooks.length === 0) return;
    if (this.#queue.length >= this.#maxQueued) {
      this.dropped++;
      return;
    }
    this.#queue.push({ hooks, event });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Resolves once everything queued so far was delivered (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#queue.length > 0 || this.#scheduled) await new Promise((r) => setImmediate(r));
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    for (const { hooks, event } of queue) {
      for (const hook of hooks) {
        try {
          hook.onEvent(event);
        } catch (err) {
          this.errors++;
          this.#onError?.(hook.name, err, event);
        }
      }
    }
  }
}
