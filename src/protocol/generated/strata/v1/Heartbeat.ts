// Original file: proto/strata/v1/link.proto

import type { NodeStatus as _strata_v1_NodeStatus, NodeStatus__Output as _strata_v1_NodeStatus__Output } from '../../strata/v1/NodeStatus.ts';
import type { Resources as _strata_v1_Resources, Resources__Output as _strata_v1_Resources__Output } from '../../strata/v1/Resources.ts';
import type { DispatchMode as _strata_v1_DispatchMode, DispatchMode__Output as _strata_v1_DispatchMode__Output } from '../../strata/v1/DispatchMode.ts';
import type { TierInfo as _strata_v1_TierInfo, TierInfo__Output as _strata_v1_TierInfo__Output } from '../../strata/v1/TierInfo.ts';
import type { Long } from '@grpc/proto-loader';

export interface Heartbeat {
  'status'?: (_strata_v1_NodeStatus);
  /**
   * Free text: why degraded or in maintenance.
   */
  'statusReason'?: (string);
  'resources'?: (_strata_v1_Resources | null);
  'runningTasks'?: (number);
  'queuedTasks'?: (number);
  'freeSlots'?: (number);
  /**
   * The mode in force (PUSH or PULL; never HYBRID, which is a policy).
   */
  'mode'?: (_strata_v1_DispatchMode);
  'tiers'?: (_strata_v1_TierInfo)[];
  /**
   * Live log bytes dropped because the log buffer was full, since the worker started.
   */
  'logDroppedBytes'?: (number | string | Long);
  /**
   * Worker clock, epoch milliseconds (for the Master's display only).
   */
  'sentAtMs'?: (number | string | Long);
  /**
   * A number the Master echoes in HeartbeatAck (round-trip measurement).
   */
  'seq'?: (number | string | Long);
}

export interface Heartbeat__Output {
  'status': (_strata_v1_NodeStatus__Output);
  /**
   * Free text: why degraded or in maintenance.
   */
  'statusReason': (string);
  'resources': (_strata_v1_Resources__Output | null);
  'runningTasks': (number);
  'queuedTasks': (number);
  'freeSlots': (number);
  /**
   * The mode in force (PUSH or PULL; never HYBRID, which is a policy).
   */
  'mode': (_strata_v1_DispatchMode__Output);
  'tiers': (_strata_v1_TierInfo__Output)[];
  /**
   * Live log bytes dropped because the log buffer was full, since the worker started.
   */
  'logDroppedBytes': (string);
  /**
   * Worker clock, epoch milliseconds (for the Master's display only).
   */
  'sentAtMs': (string);
  /**
   * A number the Master echoes in HeartbeatAck (round-trip measurement).
   */
  'seq': (string);
}
