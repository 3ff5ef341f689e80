// Original file: proto/strata/v1/link.proto

import type { DispatchMode as _strata_v1_DispatchMode, DispatchMode__Output as _strata_v1_DispatchMode__Output } from '../../strata/v1/DispatchMode.ts';

/**
 * Sets the dispatch mode in force and the push window. Sent at register, on every mode switch and
 * when the window changes (concurrency update).
 */
export interface Credits {
  'mode'?: (_strata_v1_DispatchMode);
  /**
   * PUSH: the Master may keep up to `window` unfinished tasks on this worker. 0 in PULL.
   */
  'window'?: (number);
}

/**
 * Sets the dispatch mode in force and the push window. Sent at register, on every mode switch and
 * when the window changes (concurrency update).
 */
export interface Credits__Output {
  'mode': (_strata_v1_DispatchMode__Output);
  /**
   * PUSH: the Master may keep up to `window` unfinished tasks on this worker. 0 in PULL.
   */
  'window': (number);
}
