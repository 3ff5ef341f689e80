// Original file: proto/strata/v1/link.proto

import type { DispatchMode as _strata_v1_DispatchMode, DispatchMode__Output as _strata_v1_DispatchMode__Output } from '../../strata/v1/DispatchMode.ts';

/**
 * Live-tunable worker settings. Zero/empty values mean "leave unchanged".
 */
export interface WorkerConfig {
  'heartbeatIntervalMs'?: (number);
  'concurrency'?: (number);
  /**
   * "trace", "debug", "info", "warn", "error".
   */
  'logLevel'?: (string);
  'dispatchMode'?: (_strata_v1_DispatchMode);
  /**
   * HYBRID thresholds, as a fraction of concurrency busy (0..1].
   */
  'hybridHigh'?: (number | string);
  'hybridLow'?: (number | string);
}

/**
 * Live-tunable worker settings. Zero/empty values mean "leave unchanged".
 */
export interface WorkerConfig__Output {
  'heartbeatIntervalMs': (number);
  'concurrency': (number);
  /**
   * "trace", "debug", "info", "warn", "error".
   */
  'logLevel': (string);
  'dispatchMode': (_strata_v1_DispatchMode__Output);
  /**
   * HYBRID thresholds, as a fraction of concurrency busy (0..1].
   */
  'hybridHigh': (number);
  'hybridLow': (number);
}
