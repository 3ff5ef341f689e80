// Original file: proto/strata/v1/link.proto

import type { TaskRef as _strata_v1_TaskRef, TaskRef__Output as _strata_v1_TaskRef__Output } from '../../strata/v1/TaskRef.ts';
import type { FunctionRef as _strata_v1_FunctionRef, FunctionRef__Output as _strata_v1_FunctionRef__Output } from '../../strata/v1/FunctionRef.ts';
import type { Artifact as _strata_v1_Artifact, Artifact__Output as _strata_v1_Artifact__Output } from '../../strata/v1/Artifact.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * One attempt of a task. The function is named by digest; `inline` carries the artifact itself
 * when the Master chooses to (small functions) - otherwise a worker lacking the digest calls
 * FetchArtifact. The worker uses `inline` only when inline.digest equals function.digest (and it
 * verifies it like a fetched one); otherwise it ignores it and fetches. A worker that cannot obtain or verify the artifact answers with a final result of
 * status "rejected" and error code "not_found" (unknown digest) or "invalid_code".
 */
export interface Dispatch {
  'task'?: (_strata_v1_TaskRef | null);
  'function'?: (_strata_v1_FunctionRef | null);
  'inline'?: (_strata_v1_Artifact | null);
  /**
   * The task input as UTF-8 JSON.
   */
  'inputJson'?: (Buffer | Uint8Array | string);
  /**
   * Epoch milliseconds after which the result is of no use; 0 = none.
   */
  'deadlineMs'?: (number | string | Long);
  /**
   * Run-time limit for this attempt, ms; 0 = the function's own.
   */
  'timeoutMs'?: (number);
  /**
   * Higher runs first in the worker's queue.
   */
  'priority'?: (number);
  /**
   * The tenant the task's function belongs to (the Master's submit takes it from the caller's
   * key); empty = "default". The worker runs the task in that tenant's namespace (registry key,
   * record, quotas) and refuses it when the artifact's name lies in another tenant's namespace.
   */
  'tenant'?: (string);
}

/**
 * One attempt of a task. The function is named by digest; `inline` carries the artifact itself
 * when the Master chooses to (small functions) - otherwise a worker lacking the digest calls
 * FetchArtifact. The worker uses `inline` only when inline.digest equals function.digest (and it
 * verifies it like a fetched one); otherwise it ignores it and fetches. A worker that cannot obtain or verify the artifact answers with a final result of
 * status "rejected" and error code "not_found" (unknown digest) or "invalid_code".
 */
export interface Dispatch__Output {
  'task': (_strata_v1_TaskRef__Output | null);
  'function': (_strata_v1_FunctionRef__Output | null);
  'inline': (_strata_v1_Artifact__Output | null);
  /**
   * The task input as UTF-8 JSON.
   */
  'inputJson': (Buffer);
  /**
   * Epoch milliseconds after which the result is of no use; 0 = none.
   */
  'deadlineMs': (string);
  /**
   * Run-time limit for this attempt, ms; 0 = the function's own.
   */
  'timeoutMs': (number);
  /**
   * Higher runs first in the worker's queue.
   */
  'priority': (number);
  /**
   * The tenant the task's function belongs to (the Master's submit takes it from the caller's
   * key); empty = "default". The worker runs the task in that tenant's namespace (registry key,
   * record, quotas) and refuses it when the artifact's name lies in another tenant's namespace.
   */
  'tenant': (string);
}
