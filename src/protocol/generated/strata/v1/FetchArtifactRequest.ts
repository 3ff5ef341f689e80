// Original file: proto/strata/v1/link.proto


export interface FetchArtifactRequest {
  'digest'?: (string);
  /**
   * The largest message the worker accepts; chunks are cut below min(this, the Master's own).
   */
  'maxMessageBytes'?: (number);
}

export interface FetchArtifactRequest__Output {
  'digest': (string);
  /**
   * The largest message the worker accepts; chunks are cut below min(this, the Master's own).
   */
  'maxMessageBytes': (number);
}
