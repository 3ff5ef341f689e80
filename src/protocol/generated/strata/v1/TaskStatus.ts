// Original file: proto/strata/v1/link.proto

import type { TaskRef as _strata_v1_TaskRef, TaskRef__Output as _strata_v1_TaskRef__Output } from '../../strata/v1/TaskRef.ts';
import type { TaskState as _strata_v1_TaskState, TaskState__Output as _strata_v1_TaskState__Output } from '../../strata/v1/TaskState.ts';

/**
 * Progress of one attempt; not durable (the final result is).
 */
export interface TaskStatus {
  'task'?: (_strata_v1_TaskRef | null);
  'state'?: (_strata_v1_TaskState);
  'message'?: (string);
}

/**
 * Progress of one attempt; not durable (the final result is).
 */
export interface TaskStatus__Output {
  'task': (_strata_v1_TaskRef__Output | null);
  'state': (_strata_v1_TaskState__Output);
  'message': (string);
}
