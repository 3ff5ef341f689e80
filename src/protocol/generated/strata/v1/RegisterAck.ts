// Original file: proto/strata/v1/link.proto

import type { WorkerConfig as _strata_v1_WorkerConfig, WorkerConfig__Output as _strata_v1_WorkerConfig__Output } from '../../strata/v1/WorkerConfig.ts';

export interface RegisterAck {
  'masterId'?: (string);
  /**
   * Largest message the Master accepts, in bytes; the worker chunks below min(its own, this).
   */
  'maxMessageBytes'?: (number);
  /**
   * The configuration the Master wants (fields left at their zero value keep the worker's own).
   */
  'config'?: (_strata_v1_WorkerConfig | null);
  /**
   * The heartbeat timeout the Master applies to this worker, in ms.
   */
  'heartbeatTimeoutMs'?: (number);
}

export interface RegisterAck__Output {
  'masterId': (string);
  /**
   * Largest message the Master accepts, in bytes; the worker chunks below min(its own, this).
   */
  'maxMessageBytes': (number);
  /**
   * The configuration the Master wants (fields left at their zero value keep the worker's own).
   */
  'config': (_strata_v1_WorkerConfig__Output | null);
  /**
   * The heartbeat timeout the Master applies to this worker, in ms.
   */
  'heartbeatTimeoutMs': (number);
}
