import type { Artifact, TierHealth } from '../core/driver.ts';
import type { ExecutionRecord } from '../core/execution.ts';
import type { TierName } from '../core/tiers.ts';

/** One request to run a stored function version. */
export interface InvokeRequest {
  artifact: Artifact;
  /** Parsed input; `inputJson` is its JSON text (computed when absent). */
  input: unknown;
  inputJson?: string;
  /** Defaults to the manifest's priority. */
  priority?: number;
  /** Tighter deadline than the manifest's (the Master's task timeout); capped by policy. */
  timeoutMs?: number;
  source: 'http' | 'master';
  /** Use this id for the execution record (the Master's task id + attempt); a new one otherwise. */
  executionId?: string;
  /** Persist the record while it is still queued (async invocations, so a poller never gets 404). */
  durable?: boolean;
  /** Cancels the invocation from outside (client gone, Master cancel). */
  signal?: AbortSignal;
  /** The tenant it runs for (tenants issue); copied into the record and shown to hooks. */
  tenant?: string;
  /** The alias the caller named (`latest` for a bare name); copied into `record.function.alias`. */
  alias?: string;
  /** The HTTP request id or the Master's task id, for the invocation's log line. */
  requestId?: string;
}

/** A submitted invocation: its id at once, its final record when it ends. */
export interface Submission {
  id: string;
  done: Promise<ExecutionRecord>;
}

/** What the executor reports about its load (heartbeat, /metrics, admission). */
export interface ExecutorStats {
  running: number;
  queued: number;
  concurrency: number;
  queueSize: number;
  freeSlots: number;
  draining: boolean;
}

/** Events the executor emits, for the heartbeat's "send at once on a change". */
export interface ExecutorEvents {
  start: [record: ExecutionRecord];
  finish: [record: ExecutionRecord];
  /** Log text as a sandbox produces it (only emitted while someone listens). */
  log: [executionId: string, text: string];
  /** A tier's health changed (available or not, or why); pushed by drivers that can, else polled. */
  tier: [tier: TierName, health: TierHealth];
}
