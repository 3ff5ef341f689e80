import type { Artifact } from '../core/driver.ts';
import type { Signature } from '../governance/signing.ts';

/** A task as the Master sees it. Final statuses are the worker's outcome statuses plus `lost`. */
export type TaskStatus =
  | 'pending'
  | 'dispatched'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timeout'
  | 'memory_exceeded'
  | 'killed'
  | 'rejected'
  | 'lost';

export const isFinalTaskStatus = (s: TaskStatus): boolean => s !== 'pending' && s !== 'dispatched' && s !== 'running';

export interface TaskRow {
  id: string;
  functionName: string;
  functionVersion: number;
  digest: string;
  runtime: string;
  inputJson: string;
  priority: number;
  timeoutMs: number;
  /** Worker labels the task requires (all must match). */
  labels: Record<string, string>;
  status: TaskStatus;
  workerId: string | null;
  attempt: number;
  epoch: number;
  cancelRequested: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface TaskView {
  taskId: string;
  status: TaskStatus;
  function: { name: string; version: number; digest: string };
  result?: unknown;
  error?: { code: string; message: string } | null;
  workerId: string | null;
  attempt: number;
  epoch: number;
  createdAt: string;
  updatedAt: string;
}

export type WorkerStatus = 'ok' | 'degraded' | 'maintenance' | 'lost';

export interface WorkerView {
  id: string;
  status: WorkerStatus;
  /** Why degraded or in maintenance. */
  statusReason?: string;
  connected: boolean;
  lastHeartbeatAt: string | null;
  mode: 'push' | 'pull';
  runningTasks: number;
  queuedTasks: number;
  freeSlots: number;
  /** Tasks the Master has on this worker without a final result. */
  assignedTasks: number;
  labels: Record<string, string>;
  tiers: { name: string; available: boolean; reason?: string }[];
  resources?: Record<string, number>;
  version?: string;
  logDroppedBytes: number;
}

/** A stored function version (the shape of src/registry's FunctionVersion that the Master uses). */
export interface CatalogueFunction {
  name: string;
  version: number;
  digest: string;
  manifest: unknown;
}

/**
 * The Master's function catalogue. src/registry's Registry satisfies it; tests use a small fake.
 * Digests must be computed the same way as the worker's registry so it can verify fetched artifacts.
 */
export interface Catalogue {
  deploy(
    manifest: unknown,
    code?: Uint8Array,
    /** The deploying key's tenant: the function is keyed `tenant/name` (src/tenants/namespace.ts). */
    tenant?: string,
    /** The deploy's signature, for a catalogue that shares it with other Masters (SharedCatalogue). */
    signature?: Signature,
  ): { created: boolean; fn: CatalogueFunction } | Promise<{ created: boolean; fn: CatalogueFunction }>;
  /** Throws StrataError('not_found'). */
  get(name: string, version?: number): CatalogueFunction;
  getByDigest(digest: string): CatalogueFunction | undefined;
  artifact(fn: CatalogueFunction): Artifact;
}
