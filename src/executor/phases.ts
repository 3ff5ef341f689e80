/**
 * The executor's hook phases, where plugins (src/plugins) and governance (review, quotas) plug
 * in, modelled on Nomad's task-runner hooks: one small interface per phase.
 *
 *   admit -> pre hooks -> prepare -> run -> post hooks -> record saved -> reply
 *                 monitor hooks get events (start, log, sample, finish, tier) off the critical path
 *
 * - Pre hooks run after admission and before prepare, in order, and fail fast: `{reject}` ends
 *   the invocation `rejected` (code `plugin_rejected` or the code given), a throw or an overrun of
 *   the budget (executor.hookBudget) ends it `rejected` with `plugin_failed`; `{input}` replaces
 *   the input for the hooks after it and the run.
 * - Post hooks run after the outcome, before the record is saved; they may replace the result
 *   (of a succeeded invocation) and the logs and add annotations (record.plugins.annotations[name]).
 *   Their errors go to record.plugins.errors and the invocation stands.
 * - Monitor hooks get events queued off the invocation's path; a throw is caught and counted.
 *
 * The executor takes one snapshot of the hooks per invocation, so a reload never changes an
 * invocation in flight. Hooks run in the serving process here; a host that runs untrusted plugin
 * code elsewhere (a worker thread) adapts it to these interfaces.
 */
import type { ErrorCode } from '../core/errors.ts';
import type { ExecutionRecord } from '../core/execution.ts';
import type { ResolvedLimits } from '../core/limits.ts';

export interface InvocationView {
  /** `inputSchema` when the manifest declares one (plugins/input-schema checks it). */
  function: { name: string; version: number; inputSchema?: Record<string, unknown> };
  tenant?: string;
  input: unknown;
  limits: ResolvedLimits;
}

// biome-ignore lint/suspicious/noConfusingVoidType: the contract lets a hook return nothing at all
export type PreDecision = void | undefined | { input: unknown } | { reject: string; code?: ErrorCode };

export interface PreHook {
  readonly name: string;
  /** Its own budget instead of executor.hookBudget (built-in hooks like governance, never a plugin's choice). */
  readonly budgetMs?: number;
  pre(inv: InvocationView, signal: AbortSignal): PreDecision | Promise<PreDecision>;
}

export interface PostChange {
  result?: unknown;
  logs?: string;
  annotations?: Record<string, unknown>;
}

export interface PostHook {
  readonly name: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: the contract lets a hook return nothing at all
  post(record: ExecutionRecord, signal: AbortSignal): void | PostChange | Promise<void | PostChange>;
}

export type MonitorEvent = {
  type: 'start' | 'log' | 'sample' | 'finish' | 'tier';
  at: string;
  executionId?: string;
  data: unknown;
};

export interface MonitorHook {
  readonly name: string;
  onEvent(event: MonitorEvent): void;
}

export interface PhaseHooks {
  pre(): readonly PreHook[];
  post(): readonly PostHook[];
  monitor(): readonly MonitorHook[];
  /**
   * Optional: the three lists taken together, held until `release()` (the executor releases when
   * the invocation's record is final). A plugin host uses it to keep a reloaded plugin's old
   * version alive for the invocations that started with it.
   */
  lease?(): HookLease;
}

export interface HookLease {
  pre: readonly PreHook[];
  post: readonly PostHook[];
  monitor: readonly MonitorHook[];
  release(): void;
}

/** Fixed hooks (tests, and callers that compose their own list). */
export function staticHooks(hooks: {
  pre?: readonly PreHook[];
  post?: readonly PostHook[];
  monitor?: readonly MonitorHook[];
}): PhaseHooks {
  const pre = hooks.pre ?? [];
  const post = hooks.post ?? [];
  const monitor = hooks.monitor ?? [];
  return { pre: () => pre, post: () => post, monitor: () => monitor };
}

/**
 * Several hook sources as one, in the order given (governance first, then tenants, then plugins):
 * each phase lists every source's hooks, read afresh per invocation so a plugin reload shows. A
 * source with leases (the plugin host) is leased, and the composite lease releases them all.
 */
export function composeHooks(...sources: readonly PhaseHooks[]): PhaseHooks {
  const lease = (): HookLease => {
    const leases = sources.map(
      (s): HookLease => s.lease?.() ?? { pre: s.pre(), post: s.post(), monitor: s.monitor(), release: () => {} },
    );
    return {
      pre: leases.flatMap((l) => l.pre),
      post: leases.flatMap((l) => l.post),
      monitor: leases.flatMap((l) => l.monitor),
      release: () => {
        for (const l of leases) l.release();
      },
    };
  };
  return {
    pre: () => sources.flatMap((s) => s.pre()),
    post: () => sources.flatMap((s) => s.post()),
    monitor: () => sources.flatMap((s) => s.monitor()),
    lease,
  };
}
