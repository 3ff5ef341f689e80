// Original file: proto/strata/v1/link.proto


export interface Drain {
  /**
   * Leave the stream once drained (the worker process stays up).
   */
  'disconnect'?: (boolean);
}

export interface Drain__Output {
  /**
   * Leave the stream once drained (the worker process stays up).
   */
  'disconnect': (boolean);
}
