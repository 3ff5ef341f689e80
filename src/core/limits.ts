/**
 * Resource limits as a function asks for them (all optional) and as the executor resolves them
 * (defaults filled in from config, capped by the node's policy). Names are DESIGN.md's.
 */
export interface Limits {
  /** Wall-clock deadline for one invocation. */
  timeoutMs?: number;
  /** Hard memory limit in MiB. */
  memoryMb?: number;
  /** Soft memory limit in MiB (reclaimed first under pressure). */
  memorySoftMb?: number;
  /** CPU cores, fractional (0.25 = a quarter of one core). */
  cpu?: number;
  /** Relative CPU weight, 1..10000 (cgroup v2 scale; v1 shares are derived). */
  cpuWeight?: number;
  /** CPUs the function may run on, cpuset syntax ("0-1", "0,2"). */
  cpuset?: string;
  /** Maximum number of processes/threads. */
  pids?: number;
  /** Disk read bandwidth, bytes per second. */
  ioReadBps?: number;
  /** Disk write bandwidth, bytes per second. */
  ioWriteBps?: number;
  /** Relative I/O weight, 1..10000. */
  ioWeight?: number;
  /** Size of the private /tmp, MiB. */
  tmpMb?: number;
  /** Bytes of log output kept (head and tail kept past this). */
  logBytes?: number;
  /** Deterministic WASM fuel (instructions metered at function entries and loop headers). */
  fuel?: number;
}

/**
 * Limits after defaults and caps (src/executor/limits.ts resolves them once from config). Every
 * figure a tier needs a default for is required here, so no tier keeps defaults of its own; the
 * optional ones mean "not limited" when absent (no CPU quota, no weight, no I/O throttle, no fuel).
 */
export interface ResolvedLimits extends Limits {
  timeoutMs: number;
  memoryMb: number;
  pids: number;
  tmpMb: number;
  logBytes: number;
  /** Largest result, in bytes of JSON, the worker accepts back from a function. */
  resultBytes: number;
  /** Largest error message (and stack) kept, in bytes; the middle of a longer one is cut with a marker. */
  errorBytes: number;
}

/** Limits that shape a process sandbox itself (its cgroup and private /tmp), not the invocation's budget. */
export const SANDBOX_LIMITS = [
  'memoryMb',
  'memorySoftMb',
  'cpu',
  'cpuWeight',
  'cpuset',
  'pids',
  'ioReadBps',
  'ioWriteBps',
  'ioWeight',
  'tmpMb',
] as const satisfies readonly (keyof Limits)[];

/** Every limit a manifest may set (DESIGN.md's names). */
export const LIMIT_NAMES = [
  'timeoutMs',
  ...SANDBOX_LIMITS,
  'logBytes',
  'fuel',
] as const satisfies readonly (keyof Limits)[];
