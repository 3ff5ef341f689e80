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

/** Which limit or event ended an invocation that did not succeed (CONTRACTS.md, record `death`). */
export type DeathCause =
  | 'memory'
  | 'time'
  | 'pids'
  | 'fuel'
  | 'log'
  | 'result'
  | 'protocol'
  | 'crash'
  | 'cancel'
  | 'disk'
  | 'error';

/** How a run started (CONTRACTS.md, record `start`). */
export type StartKind = 'cold' | 'warm' | 'fresh' | 'prewarmed';

/** What a sandbox driver returns from run(). */
export interface RunOutcome {
  status: Exclude<FinalStatus, 'rejected'>;
  result?: unknown;
  error?: ErrorInfo;
  usage: Usage;
  exit?: ExitInfo;
  /** Set by the tier when the result went through as text rather than JSON. */
  resultIsText?: boolean;
  /** How the code started and how long that took before it ran, ms. */
  start?: { kind: StartKind; initMs: number };
  /** Why it ended, when it did not succeed: the limit (in its ResolvedLimits unit) and usage then. */
  death?: { cause: DeathCause; limit?: number; usage?: Usage };
}

export interface ExecutionRecord {
  id: string;
  function: { name: string; version: number; digest: string };
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
