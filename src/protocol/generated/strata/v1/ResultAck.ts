// Original file: proto/strata/v1/link.proto

import type { TaskRef as _strata_v1_TaskRef, TaskRef__Output as _strata_v1_TaskRef__Output } from '../../strata/v1/TaskRef.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * The Master stored (accepted = true) or refused (duplicate, fenced, unknown task) a result.
 * Either way the worker deletes it from its outbox.
 */
export interface ResultAck {
  'task'?: (_strata_v1_TaskRef | null);
  'outboxId'?: (number | string | Long);
  'accepted'?: (boolean);
  /**
   * "duplicate", "fenced", "unknown_task" when refused.
   */
  'reason'?: (string);
}

/**
 * The Master stored (accepted = true) or refused (duplicate, fenced, unknown task) a result.
 * Either way the worker deletes it from its outbox.
 */
export interface ResultAck__Output {
  'task': (_strata_v1_TaskRef__Output | null);
  'outboxId': (string);
  'accepted': (boolean);
  /**
   * "duplicate", "fenced", "unknown_task" when refused.
   */
  'reason': (string);
}
