// Original file: proto/strata/v1/link.proto

import type { TaskRef as _strata_v1_TaskRef, TaskRef__Output as _strata_v1_TaskRef__Output } from '../../strata/v1/TaskRef.ts';
import type { WorkerConfig as _strata_v1_WorkerConfig, WorkerConfig__Output as _strata_v1_WorkerConfig__Output } from '../../strata/v1/WorkerConfig.ts';
import type { Drain as _strata_v1_Drain, Drain__Output as _strata_v1_Drain__Output } from '../../strata/v1/Drain.ts';
import type { Long } from '@grpc/proto-loader';

export interface Control {
  /**
   * Echoed in ControlAck; unique per Master stream.
   */
  'controlId'?: (number | string | Long);
  /**
   * Stop the attempt; the ack follows once its sandbox is empty. Its result (status "killed",
   * code "cancelled") still goes through the outbox.
   */
  'cancel'?: (_strata_v1_TaskRef | null);
  'pause'?: (_strata_v1_TaskRef | null);
  'resume'?: (_strata_v1_TaskRef | null);
  /**
   * Apply at once; the ack says whether every field was applied.
   */
  'configure'?: (_strata_v1_WorkerConfig | null);
  /**
   * Take no new work, finish what runs; the worker reports MAINTENANCE and acks when empty.
   */
  'drain'?: (_strata_v1_Drain | null);
  'action'?: "cancel"|"pause"|"resume"|"configure"|"drain";
}

export interface Control__Output {
  /**
   * Echoed in ControlAck; unique per Master stream.
   */
  'controlId': (string);
  /**
   * Stop the attempt; the ack follows once its sandbox is empty. Its result (status "killed",
   * code "cancelled") still goes through the outbox.
   */
  'cancel'?: (_strata_v1_TaskRef__Output | null);
  'pause'?: (_strata_v1_TaskRef__Output | null);
  'resume'?: (_strata_v1_TaskRef__Output | null);
  /**
   * Apply at once; the ack says whether every field was applied.
   */
  'configure'?: (_strata_v1_WorkerConfig__Output | null);
  /**
   * Take no new work, finish what runs; the worker reports MAINTENANCE and acks when empty.
   */
  'drain'?: (_strata_v1_Drain__Output | null);
  'action'?: "cancel"|"pause"|"resume"|"configure"|"drain";
}
