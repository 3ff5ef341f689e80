/**
 * The sandbox driver contract every tier implements (sandboxes/<tier>/driver.ts), modelled on
 * Nomad's task driver plugins: a tier declares what it can do (capabilities) and reports its own
 * health (fingerprint) instead of callers probing it; exits and limit hits are values in the
 * outcome, not exceptions.
 *
 * Lifecycle: `start()` once (boot host pools, connect to daemons) -> `prepare(artifact)` once per
 * digest (compile, validate, warm; cached) -> `run(prepared, invocation, options)` any number of
 * times, concurrently -> `dispose()` once, which frees everything the tier made. `dispose()` and
 * the stop paths are idempotent and safe to call when `start()` never ran.
 *
 * The executor owns the deadline and cancellation: `options.signal` fires on timeout, cancel,
 * reclamation or shutdown (its `reason` is a StrataError saying which). A driver must stop the
 * code when the signal fires and must never leave a process, container, cgroup or isolate behind.
 * `run()` resolves with an outcome for anything the function did (threw, timed out, ran out of
 * memory, crashed its host); it rejects only for a bug in the driver itself.
 */
import type { ErrorInfo, RunOutcome, UsageField } from './execution.ts';
import type { ResolvedLimits } from './limits.ts';
import type { LogBudget } from './log-budget.ts';
import type { Manifest } from './manifest.ts';
import type { Runtime, TierName } from './tiers.ts';

/** A stored function version, as handed to a tier. */
export interface Artifact {
  /** Content digest of manifest + code (sha256 hex): the cache key for prepare(). */
  digest: string;
  name: string;
  version: number;
  manifest: Manifest;
  /** The code: JS or script source as UTF-8, WASM bytes, or empty (container, http). */
  code: Uint8Array;
}

export interface Invocation {
  id: string;
  /** The input, already parsed from JSON. */
  input: unknown;
  /** The input's JSON text (what stdin-based tiers receive). */
  inputJson: string;
  priority: number;
}

export interface RunOptions {
  /** Epoch milliseconds after which the code must be stopped. */
  deadline: number;
  limits: ResolvedLimits;
  /** Fires on timeout, cancel, reclamation or shutdown; `signal.reason` is a StrataError. */
  signal: AbortSignal;
  /** Where the function's console / stdout-stderr text goes. */
  logs: LogBudget;
  /** Called once the code really starts (after any cold start), for queue/start timings. */
  onStart?: () => void;
}

export interface DriverCapabilities {
  /** Runtimes this tier can execute. */
  runtimes: readonly Runtime[];
  /** Usage figures this tier measures. */
  measures: readonly UsageField[];
  /** Whether a running invocation can be paused and resumed. */
  pause: boolean;
  /** Limits this tier enforces; others are accepted and ignored, as health says. */
  enforces: readonly (keyof ResolvedLimits)[];
  /** How outbound network can be granted: 'none' (never), 'all' (all-or-nothing), 'allowlist' (host:port / CIDR list enforced). */
  network: 'none' | 'all' | 'allowlist';
  /** The sandbox has processes of its own and reserves a core for admission when it asks no CPU limit. */
  ownProcesses: boolean;
}

/** A step of a long prepare() (a compile), for a CLI to show while a deploy waits. */
export interface PrepareProgress {
  step: string;
  state: 'started' | 'finished';
  ms?: number;
  detail?: string;
}

/** What a tier says about a prepare()'s compile, for the deploy answer (`compile`). */
export interface CompileReport {
  /** Nothing was built: everything came from a cache. */
  cached: boolean;
  /** Wall time of prepare(), ms. */
  ms: number;
  /** Step name -> ms. */
  steps: Record<string, number>;
}

export interface PrepareOptions {
  onProgress?: (event: PrepareProgress) => void;
}

export interface TierHealth {
  /** Whether the tier can take invocations now. */
  available: boolean;
  /** Why not, or what is degraded, in words an operator can act on. */
  reason?: string;
  /** Tier-specific facts (host count, restarts, cgroup version, daemon version, ...). */
  details?: Record<string, unknown>;
}

export interface SandboxDriver<Prepared = unknown> {
  readonly tier: TierName;
  readonly capabilities: DriverCapabilities;
  start(): Promise<void>;
  health(): TierHealth;
  /**
   * Push health changes: call `listener` whenever `health()` would answer differently (daemon
   * gone or back, host pool down). Returns the unsubscribe. A driver without it is polled by the
   * executor (executor.healthPoll) until it has one.
   */
  onHealthChange?(listener: (health: TierHealth) => void): () => void;
  /** Validate and compile once per digest; throws StrataError('invalid_code') for bad code. */
  prepare(artifact: Artifact, options?: PrepareOptions): Promise<Prepared>;
  run(prepared: Prepared, invocation: Invocation, options: RunOptions): Promise<RunOutcome>;
  /** Pause/resume a running invocation (only where capabilities.pause). */
  pause?(invocationId: string): Promise<void>;
  resume?(invocationId: string): Promise<void>;
  /** Forget what prepare() cached for a digest (function deleted). */
  forget?(digest: string): void;
  dispose(): Promise<void>;
}

/** The error to put in an outcome when the run signal fired. */
export function abortError(signal: AbortSignal): ErrorInfo {
  const reason = signal.reason as { code?: string; message?: string } | undefined;
  if (reason && typeof reason.code === 'string' && typeof reason.message === 'string') {
    return { code: reason.code as ErrorInfo['code'], message: reason.message };
  }
  return { code: 'cancelled', message: 'the invocation was cancelled' };
}
