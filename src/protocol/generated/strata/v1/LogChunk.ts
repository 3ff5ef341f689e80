// Original file: proto/strata/v1/link.proto

import type { TaskRef as _strata_v1_TaskRef, TaskRef__Output as _strata_v1_TaskRef__Output } from '../../strata/v1/TaskRef.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * Live output of a running task. Best effort: the worker buffers a bounded amount and drops (and
 * counts) what does not fit; the final logs are in the result record.
 */
export interface LogChunk {
  'task'?: (_strata_v1_TaskRef | null);
  /**
   * Per task, starting at 0; a gap means chunks were dropped.
   */
  'seq'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'droppedBytes'?: (number | string | Long);
}

/**
 * Live output of a running task. Best effort: the worker buffers a bounded amount and drops (and
 * counts) what does not fit; the final logs are in the result record.
 */
export interface LogChunk__Output {
  'task': (_strata_v1_TaskRef__Output | null);
  /**
   * Per task, starting at 0; a gap means chunks were dropped.
   */
  'seq': (string);
  'data': (Buffer);
  'droppedBytes': (string);
}
