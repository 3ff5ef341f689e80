/**
 * A `master_tasks` row as a SharedTask, from either store: node:sqlite gives labels as JSON text,
 * flags as 0/1 and integers as numbers; PostgreSQL gives jsonb as objects, booleans and bigint
 * columns as strings.
 */
import type { SharedResult, SharedTask } from './store-backend.ts';
import type { TaskStatus } from './types.ts';

export type Row = Record<string, unknown>;

export const taskOfRow = (r: Row): SharedTask => ({
  id: r.id as string,
  functionName: r.function_name as string,
  functionVersion: r.function_version as number,
  digest: r.digest as string,
  runtime: r.runtime as string,
  inputJson: r.input_json as string,
  priority: r.priority as number,
  timeoutMs: r.timeout_ms as number,
  labels: (typeof r.labels === 'string' ? JSON.parse(r.labels) : r.labels) as Record<string, string>,
  status: r.status as TaskStatus,
  workerId: (r.worker_id as string | null) ?? null,
  masterId: (r.master_id as string | null) ?? null,
  attempt: r.attempt as number,
  epoch: String(r.epoch),
  cancelRequested: r.cancel_requested === true || r.cancel_requested === 1,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export const resultOfRow = (r: Row): SharedResult => ({
  taskId: r.task_id as string,
  attempt: r.attempt as number,
  epoch: String(r.epoch),
  workerId: (r.worker_id as string | null) ?? null,
  status: r.status as TaskStatus,
  errorCode: (r.error_code as string | null) ?? null,
  recordJson: (r.record_json as string | null) ?? null,
});
