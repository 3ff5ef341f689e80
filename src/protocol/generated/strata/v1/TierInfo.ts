// Original file: proto/strata/v1/link.proto


export interface TierInfo {
  /**
   * "isolate", "wasm", "process", "docker", ...
   */
  'name'?: (string);
  'available'?: (boolean);
  /**
   * Why the tier is unavailable or degraded, in words for an operator.
   */
  'reason'?: (string);
}

export interface TierInfo__Output {
  /**
   * "isolate", "wasm", "process", "docker", ...
   */
  'name': (string);
  'available': (boolean);
  /**
   * Why the tier is unavailable or degraded, in words for an operator.
   */
  'reason': (string);
}
