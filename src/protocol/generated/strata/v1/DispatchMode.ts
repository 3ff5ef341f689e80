// Original file: proto/strata/v1/link.proto

export const DispatchMode = {
  DISPATCH_MODE_UNSPECIFIED: 'DISPATCH_MODE_UNSPECIFIED',
  DISPATCH_MODE_PUSH: 'DISPATCH_MODE_PUSH',
  DISPATCH_MODE_PULL: 'DISPATCH_MODE_PULL',
  /**
   * Only in configuration (RegisterAck/ConfigUpdate): the worker switches PUSH <-> PULL by load.
   */
  DISPATCH_MODE_HYBRID: 'DISPATCH_MODE_HYBRID',
} as const;

export type DispatchMode =
  | 'DISPATCH_MODE_UNSPECIFIED'
  | 0
  | 'DISPATCH_MODE_PUSH'
  | 1
  | 'DISPATCH_MODE_PULL'
  | 2
  /**
   * Only in configuration (RegisterAck/ConfigUpdate): the worker switches PUSH <-> PULL by load.
   */
  | 'DISPATCH_MODE_HYBRID'
  | 3

export type DispatchMode__Output = typeof DispatchMode[keyof typeof DispatchMode]
