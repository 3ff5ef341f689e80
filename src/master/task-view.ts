/** How a task and its stored result look from outside (HTTP, events). */
import type { StoredResult } from './store-backend.ts';
import type { TaskRow, TaskView } from './types.ts';

/** `result` and `error` are always present (null until known), as the HTTP contract lists them. */
export const viewOf = (row: TaskRow): TaskView => ({
  taskId: row.id,
  status: row.status,
  result: null,
  error: null,
  function: { name: row.functionName, version: row.functionVersion, digest: row.digest },
  workerId: row.workerId,
  attempt: row.attempt,
  epoch: row.epoch,
  createdAt: new Date(row.createdAt).toISOString(),
  updatedAt: new Date(row.updatedAt).toISOString(),
});

/** result / error fields of a task view from its stored result. */
export function resultFields(stored: StoredResult): { result?: unknown; error?: { code: string; message: string } } {
  let record: { result?: unknown; error?: { code: string; message: string } } = {};
  if (stored.recordJson) {
    try {
      record = JSON.parse(stored.recordJson);
    } catch {
      record = {};
    }
  }
  if (stored.status === 'succeeded') return { result: record.result ?? null };
  return {
    error: record.error ?? { code: stored.errorCode ?? 'internal', message: stored.errorMessage ?? stored.status },
  };
}
