import type { ErrorCode } from './errors.ts';
import type { TierName } from './tiers.ts';

/** Final statuses (DESIGN.md "Outcome statuses"). */
export const FINAL_STATUSES = ['succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed', 'rejected'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
/** A record is `queued` or `running` only while an async invocation is in flight. */
export type ExecutionStatus = FinalStatus | 'queued' | 'running';

/** The figures a usage sample can carry; `measured` names the ones really read. */
export const USAGE_FIELDS = [
  'wallMs',
  'cpuMs',
  'memoryPeakBytes',
  'ioReadBytes',
  'ioWriteBytes',
  'netRxBytes',
  'netTxBytes',
  'fuelConsumed',
] as const;
export type UsageField = (typeof USAGE_FIELDS)[number];

/**
 * What one invocation used. A figure the tier cannot see is left out, never reported as 0
 * (like Nomad's MemoryStats.Measured).
 */
export interface Usage {
  wallMs: number;
  cpuMs?: number;
  memoryPeakBytes?: number;
  ioReadBytes?: number;
  ioWriteBytes?: number;
  netRxBytes?: number;
  netTxBytes?: number;
  fuelConsumed?: number;
  measured: UsageField[];
}

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
}

/** How the sandboxed code ended, as a value (Nomad's ExitResult), for tiers that have exits. */
export interface ExitInfo {
  exitCode?: number;
  signal?: string;
  oomKilled?: boolean;
  timedOut?: boolean;
}

/** What ended an invocation that did not succeed (DESIGN.md B1). */
export const DEATH_CAUSES = [
  'memory',
  'time',
  'pids',
  'fuel',
  'log',
  'result',
  'protocol',
  'crash',
  'cancel',
  'disk',
  'error',
] as const;
export type DeathCause = (typeof DEATH_CAUSES)[number];

/**
 * One cause of death with the resource snapshot at that moment. `limit` is the limit that was
 * hit, in its own unit (timeoutMs ms, memoryMb MiB, pids count, fuel units, logBytes/resultBytes
 * bytes, tmpMb MiB).
 */
export interface Death {
  cause: DeathCause;
  limit?: number;
  /** ISO time the executor saw the end. */
  at: string;
  /** As the tier measured it at that moment (the record's usage when the tier gave none). */
  usage: Usage;
}

/** How a run started (DESIGN.md B6); see CONTRACTS.md for which tier reports which kind. */
export type StartKind = 'cold' | 'warm' | 'fresh' | 'prewarmed';
export interface StartInfo {
  kind: StartKind;
  /** Milliseconds spent before the function's code began (sandbox creation, compile, warm-up). */
  initMs: number;
}

/** Where an invocation was placed and why (DESIGN.md B5). */
export interface PlacementInfo {
  /** The tier it ran on (null when none could take it). */
  tier: TierName | null;
  /** The tier the trust level alone would pick. */
  requested: TierName | null;
  /** Why `tier` differs from `requested` (or why there is none). */
  reason?: string;
}

/** What plugin hooks added to a record (src/executor/phases.ts). */
export interface PluginNotes {
  errors?: { plugin: string; phase: string; message: string }[];
  /** By plugin name. */
  annotations?: Record<string, unknown>;
}

/** What a sandbox driver returns from run(). */
export interface RunOutcome {
  status: Exclude<FinalStatus, 'rejected'>;
  result?: unknown;
  error?: ErrorInfo;
  usage: Usage;
  exit?: ExitInfo;
  /** Set by the tier when the result went through as text rather than JSON. */
  resultIsText?: boolean;
  /** How this run started; the executor copies it into the record. */
  start?: StartInfo;
  /** What ended it, when it did not succeed; the executor adds `at` (and `usage` if absent). */
  death?: { cause: DeathCause; limit?: number; usage?: Usage };
}

export interface ExecutionRecord {
  id: string;
  /**
   * The version that ran; `alias` is the alias it was invoked through (`latest` for a bare name,
   * `prod` for `name@prod`), absent when a version was named (`name@3`) or a Master sent it.
   */
  function: { name: string; version: number; digest: string; alias?: string };
  status: ExecutionStatus;
  result?: unknown;
  error?: ErrorInfo;
  logs: string;
  usage: Usage;
  tier: TierName | null;
  priority: number;
  /** Where the invocation came from: the HTTP gateway or a Master task. */
  source: 'http' | 'master';
  timings: { queuedMs: number; enqueuedAt: string; startedAt: string | null; finishedAt: string | null };
  /** Anomaly flags raised by the usage baseline (resources issue). */
  anomalies?: string[];
  /** Every record that did not succeed says what ended it. */
  death?: Death;
  /** Every record that ran says how it started. */
  start?: StartInfo;
  /** Every record says where it was placed. */
  placement?: PlacementInfo;
  plugins?: PluginNotes;
  /** The tenant the invocation ran for, when there is one (tenants issue). */
  tenant?: string;
}

/** Build a usage object from the figures that were actually measured. */
export function usageOf(figures: Partial<Record<UsageField, number | undefined>> & { wallMs: number }): Usage {
  const usage: Usage = { wallMs: figures.wallMs, measured: [] };
  for (const field of Object.keys(figures) as UsageField[]) {
    const value = figures[field];
    if (typeof value === 'number' && Number.isFinite(value)) {
      (usage as unknown as Record<string, number>)[field] = value;
      usage.measured.push(field);
    }
  }
  return usage;
}
