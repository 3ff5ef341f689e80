// Original file: proto/strata/v1/link.proto

import type { TierInfo as _strata_v1_TierInfo, TierInfo__Output as _strata_v1_TierInfo__Output } from '../../strata/v1/TierInfo.ts';
import type { TaskRef as _strata_v1_TaskRef, TaskRef__Output as _strata_v1_TaskRef__Output } from '../../strata/v1/TaskRef.ts';
import type { Credits as _strata_v1_Credits, Credits__Output as _strata_v1_Credits__Output } from '../../strata/v1/Credits.ts';

/**
 * The first message of every stream.
 */
export interface Register {
  /**
   * Stable across restarts of the same worker (the Master uses it to reconcile tasks).
   */
  'workerId'?: (string);
  /**
   * Strata version of the worker.
   */
  'version'?: (string);
  'labels'?: ({[key: string]: string});
  'tiers'?: (_strata_v1_TierInfo)[];
  /**
   * Invocations the worker runs at once, and how many may wait in its queue.
   */
  'concurrency'?: (number);
  'queueSize'?: (number);
  /**
   * Largest message the worker accepts, in bytes.
   */
  'maxMessageBytes'?: (number);
  /**
   * Tasks the worker still holds (running, queued, or with a result not yet acknowledged). The
   * Master treats every task it had assigned to this worker and NOT listed here as lost on this
   * worker and dispatches it again.
   */
  'held'?: (_strata_v1_TaskRef)[];
  /**
   * The initial dispatch mode and push window.
   */
  'credits'?: (_strata_v1_Credits | null);
  /**
   * A random id per worker process: lets the Master tell a restart from a reconnect.
   */
  'instanceId'?: (string);
}

/**
 * The first message of every stream.
 */
export interface Register__Output {
  /**
   * Stable across restarts of the same worker (the Master uses it to reconcile tasks).
   */
  'workerId': (string);
  /**
   * Strata version of the worker.
   */
  'version': (string);
  'labels': ({[key: string]: string});
  'tiers': (_strata_v1_TierInfo__Output)[];
  /**
   * Invocations the worker runs at once, and how many may wait in its queue.
   */
  'concurrency': (number);
  'queueSize': (number);
  /**
   * Largest message the worker accepts, in bytes.
   */
  'maxMessageBytes': (number);
  /**
   * Tasks the worker still holds (running, queued, or with a result not yet acknowledged). The
   * Master treats every task it had assigned to this worker and NOT listed here as lost on this
   * worker and dispatches it again.
   */
  'held': (_strata_v1_TaskRef__Output)[];
  /**
   * The initial dispatch mode and push window.
   */
  'credits': (_strata_v1_Credits__Output | null);
  /**
   * A random id per worker process: lets the Master tell a restart from a reconnect.
   */
  'instanceId': (string);
}
