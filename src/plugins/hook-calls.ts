/**
 * Hook dispatch: a loaded version's hooks as the executor's PreHook/PostHook/MonitorHook, each
 * one call into the plugin's thread with a budget, counted and timed. A failure is reported to
 * the lifecycle (the breaker counts it); an overrun is followed by a liveness check, so a thread
 * spinning in synchronous code is found and stopped.
 */
import type { ExecutionRecord } from '../core/execution.ts';
import type { InvocationView, MonitorEvent } from '../executor/phases.ts';
import type { PluginMetrics } from './metrics.ts';
import type { MonitorErrors } from './monitor-errors.ts';
import type { Generation, Slot } from './slot.ts';
import { PluginCallError } from './thread.ts';

export interface HookCallsOptions {
  metrics: PluginMetrics;
  monitorErrors: MonitorErrors;
  /** Budget of a pre or post call (executor.hookBudget; the executor bounds it too). */
  hookBudgetMs: number;
  monitorBudgetMs: number;
  onFailure(slot: Slot, kind: string, message: string): void;
  /** A call overran: check whether the thread spins. */
  onOverrun(slot: Slot, gen: Generation): void;
}

type Op = 'pre' | 'post' | 'event';

/** Give `gen` the hooks its manifest declares and its object implements. */
export function attachHooks(slot: Slot, gen: Generation, o: HookCallsOptions): void {
  const name = slot.name;
  const kinds = gen.manifest.kinds;
  // The executor's own budget fires first; ours (a little later) only frees the pending call.
  const budget = o.hookBudgetMs + 5;
  if (kinds.includes('pre') && gen.ready.has.pre)
    gen.pre = { name, pre: (view: InvocationView) => callHook(slot, gen, 'pre', view, budget, o) as never };
  if (kinds.includes('post') && gen.ready.has.post)
    gen.post = { name, post: (record: ExecutionRecord) => callHook(slot, gen, 'post', record, budget, o) as never };
  if (kinds.includes('monitor') && gen.ready.has.onEvent)
    gen.monitor = {
      name,
      onEvent: (event: MonitorEvent) => {
        o.monitorErrors.begin(event);
        callHook(slot, gen, 'event', event, o.monitorBudgetMs, o).then(
          () => o.monitorErrors.end(event, name),
          (err: Error) =>
            o.monitorErrors.end(event, name, `monitor hook "${name}" failed on a ${event.type} event: ${err.message}`),
        );
      },
    };
}

/** One hook call: counted, timed, and a failure noted (breaker; a spinning thread is stopped). */
async function callHook(slot: Slot, gen: Generation, op: Op, arg: unknown, budget: number, o: HookCallsOptions) {
  const kind = op === 'event' ? 'monitor' : op;
  if (gen.retired && gen.thread.dead) throw new Error(`plugin ${slot.name} ${gen.manifest.version} was unloaded`);
  const started = performance.now();
  let outcome = 'ok';
  try {
    const value = await gen.thread.call(op, [arg], budget);
    if (op === 'pre' && value && typeof value === 'object' && 'reject' in value) outcome = 'rejected';
    return value;
  } catch (err) {
    const why = err instanceof PluginCallError ? err.why : 'threw';
    outcome = why === 'overran' ? 'timeout' : 'error';
    // A version already retired (reloaded away) that misses a late call is not failing.
    if (gen.retired) throw err;
    o.onFailure(
      slot,
      kind,
      `${kind} hook ${why === 'overran' ? 'overran its budget' : `failed: ${(err as Error).message}`}`,
    );
    if (why === 'overran') o.onOverrun(slot, gen);
    throw err;
  } finally {
    o.metrics.hookCall(slot.name, kind, outcome, (performance.now() - started) / 1000);
  }
}
