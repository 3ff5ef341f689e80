// Original file: proto/strata/v1/link.proto


export interface FunctionRef {
  'name'?: (string);
  'version'?: (number);
  /**
   * sha256 hex of the artifact (see Artifact).
   */
  'digest'?: (string);
}

export interface FunctionRef__Output {
  'name': (string);
  'version': (number);
  /**
   * sha256 hex of the artifact (see Artifact).
   */
  'digest': (string);
}
