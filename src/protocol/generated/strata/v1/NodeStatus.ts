// Original file: proto/strata/v1/link.proto

export const NodeStatus = {
  NODE_STATUS_UNSPECIFIED: 'NODE_STATUS_UNSPECIFIED',
  /**
   * Serving normally.
   */
  NODE_STATUS_OK: 'NODE_STATUS_OK',
  /**
   * Serving, but something is wrong (a tier down, resources short); place work elsewhere first.
   */
  NODE_STATUS_DEGRADED: 'NODE_STATUS_DEGRADED',
  /**
   * Taking no new work (draining or operator maintenance); running tasks finish.
   */
  NODE_STATUS_MAINTENANCE: 'NODE_STATUS_MAINTENANCE',
} as const;

export type NodeStatus =
  | 'NODE_STATUS_UNSPECIFIED'
  | 0
  /**
   * Serving normally.
   */
  | 'NODE_STATUS_OK'
  | 1
  /**
   * Serving, but something is wrong (a tier down, resources short); place work elsewhere first.
   */
  | 'NODE_STATUS_DEGRADED'
  | 2
  /**
   * Taking no new work (draining or operator maintenance); running tasks finish.
   */
  | 'NODE_STATUS_MAINTENANCE'
  | 3

export type NodeStatus__Output = typeof NodeStatus[keyof typeof NodeStatus]
