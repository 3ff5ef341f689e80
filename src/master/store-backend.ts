/**
 * The Master's store, as ONE async interface with two implementations: embedded node:sqlite
 * (store-sqlite.ts, the default) and PostgreSQL (store-postgres.ts, chosen by
 * STRATA_MASTER_DATABASE_URL, shared by any number of Masters). It holds what Masters must agree
 * on: tasks, their claim for dispatch, the epoch counter, the one result per task, the worker
 * registry, the sweep lease, the wake-up on new tasks. Every rule that makes a Master safe next
 * to another is enforced by the database inside a transaction, never by a Master's memory.
 */
import type { U64 } from '../protocol/uint64.ts';
import type { ClaimWorker } from './claim-filter.ts';
import type { TaskStatus, WorkerView } from './types.ts';

export type StoreOutcome = 'accepted' | 'duplicate' | 'fenced' | 'unknown_task';

/** A result as the Master handles it (epoch as a number: this Master's own view). */
export interface StoredResult {
  taskId: string;
  attempt: number;
  epoch: number;
  workerId: string | null;
  status: TaskStatus;
  errorCode: string | null;
  errorMessage: string | null;
  recordJson: string | null;
}

export interface NewTask {
  id: string;
  functionName: string;
  functionVersion: number;
  digest: string;
  runtime: string;
  inputJson: string;
  priority: number;
  timeoutMs: number;
  labels: Record<string, string>;
  createdAt: number;
}

export interface SharedTask extends NewTask {
  status: TaskStatus;
  workerId: string | null;
  /** The Master that dispatched the current attempt (information only: any Master takes its result). */
  masterId: string | null;
  attempt: number;
  /** From one database sequence: never repeats across Masters or restarts. */
  epoch: U64;
  /** A cancel was asked while it ran: it is never dispatched again (finished `killed`). */
  cancelRequested: boolean;
  updatedAt: number;
}

export interface SharedResult {
  taskId: string;
  attempt: number;
  epoch: U64;
  workerId: string | null;
  status: TaskStatus;
  errorCode: string | null;
  recordJson: string | null;
}

export interface SharedWorker {
  id: string;
  masterId: string;
  status: 'ok' | 'lost';
  lastSeenAt: number;
  /** What its Master last wrote of it (PostgreSQL: the shared GET /v1/workers). */
  view?: WorkerView;
}

/** What one Master asks of the Master holding a task's worker stream (remote-control.ts). */
export type RemoteAction = 'cancel' | 'pause' | 'resume' | 'logs';

export interface RemoteRequest {
  id: string;
  taskId: string;
  action: RemoteAction;
  /** The Master asked to act (the one whose worker runs the attempt). */
  target: string;
  from: string;
}

export interface RemoteReply {
  ok: boolean;
  code: string;
  /** The error message, or for `logs` the live tail. */
  message: string;
}

/** A deploy as it was made (replayed by every Master into its own catalogue). */
export interface PublishedFunction {
  seq: number;
  manifestJson: string;
  code: Uint8Array;
  /** The deploying key's tenant (null: the default). */
  tenant: string | null;
  /** The deploy's signature ({keyId, sig} as JSON), null when it had none. */
  signatureJson: string | null;
}

export interface MasterStoreBackend {
  readonly kind: 'sqlite' | 'postgres';
  /** Migrations (idempotent, safe when several Masters start at once). */
  init(): Promise<void>;
  insertTasks(tasks: NewTask[]): Promise<void>;
  /**
   * Claim up to `count` pending tasks (priority, then age) for `workerId`: each gets the next
   * attempt and a fresh epoch. Rows another Master is claiming are skipped, never waited for, so
   * two Masters never dispatch the same attempt.
   */
  claim(worker: ClaimWorker, masterId: string, count: number): Promise<SharedTask[]>;
  /** Mark a cancel asked for a dispatched task (see SharedTask.cancelRequested). */
  requestCancel(taskId: string): Promise<void>;
  /** Tasks by status (for /metrics: every Master on one database counts the same). */
  countByStatus(): Promise<Record<string, number>>;
  /** The one result of a task: accepted only for its current epoch while unfinished. */
  storeResult(result: SharedResult): Promise<StoreOutcome>;
  /** storeResult for several, in one transaction (one commit); outcomes in order. */
  storeResults(results: SharedResult[]): Promise<StoreOutcome[]>;
  /**
   * Back to pending: one task whose attempt `epoch` is still current and unfinished. `refused`:
   * the worker refused it (not a failed attempt: the number is given back).
   */
  requeueTask(taskId: string, epoch: U64, refused?: boolean): Promise<boolean>;
  /**
   * A worker registered holding `held` (task id and epoch): its other unfinished tasks (claimed for
   * it by a Master that died before sending them) go back to pending; the held ones still current.
   */
  reconcileWorker(
    workerId: string,
    held: { taskId: string; epoch: U64 }[],
    /** Also record the worker as seen by this Master, in the same transaction (see sweepSilent). */
    masterId?: string,
  ): Promise<{ requeued: string[]; current: SharedTask[]; stale: { taskId: string; epoch: U64 }[] }>;
  /**
   * Back to pending: every unfinished task of a lost worker (once, whoever calls it). With
   * `ifMaster`, only while the registry still has the worker on that Master (it may have moved on).
   */
  requeueWorker(workerId: string, ifMaster?: string): Promise<string[]>;
  getTask(id: string): Promise<SharedTask | undefined>;
  getResult(taskId: string): Promise<SharedResult | undefined>;
  countResults(): Promise<number>;
  /** The worker registry: a worker seen by `masterId` now. */
  seen(workerId: string, masterId: string, at: number, viewJson?: string): Promise<void>;
  workers(): Promise<SharedWorker[]>;
  /** Mark workers silent for longer than `timeoutMs` lost; their ids (only the lease holder calls this). */
  markSilentLost(now: number, timeoutMs: number): Promise<string[]>;
  /**
   * Mark workers silent for longer than `timeoutMs` lost and requeue their unfinished tasks, in one
   * transaction (only the sweep-lease holder calls this). A worker that registered anywhere
   * meanwhile is not swept: its registry row is fresh.
   */
  sweepSilent(now: number, timeoutMs: number): Promise<{ workerId: string; requeued: string[] }[]>;
  /** Take or renew a named lease for `ttlMs`; true while `holder` has it. */
  lease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  /**
   * Ask Master `target` to act on a task its worker runs: a row, then a wake-up (NOTIFY). The
   * reply comes to `onRemoteReply` listeners of the asking Master.
   */
  remoteRequest(request: RemoteRequest): Promise<void>;
  /** Requests addressed to `masterId` (each delivered to that Master once, by `takeRemote`). */
  onRemoteRequest(masterId: string, listener: (request: RemoteRequest) => void): Promise<() => Promise<void>>;
  remoteReply(id: string, reply: RemoteReply): Promise<void>;
  /** Replies to this Master's requests; `wants` says which ids it still waits for. */
  onRemoteReply(
    wants: (id: string) => boolean,
    listener: (id: string, reply: RemoteReply) => void,
  ): Promise<() => Promise<void>>;
  /** Record a deploy for the other Masters (PostgreSQL; a no-op on the embedded store). */
  publishFunction(
    manifestJson: string,
    code: Uint8Array,
    tenant: string | null,
    signatureJson?: string | null,
  ): Promise<void>;
  /** Deploys recorded after `seq`, in order. */
  functionsSince(seq: number): Promise<PublishedFunction[]>;
  /** Called when a deploy was published. */
  onFunctions(listener: () => void): Promise<() => Promise<void>>;
  /** Called when another Master (or this one) stored new tasks. Resolves once listening. */
  onNewTasks(listener: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
