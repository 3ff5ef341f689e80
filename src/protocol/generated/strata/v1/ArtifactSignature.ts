// Original file: proto/strata/v1/link.proto


/**
 * ed25519 over the artifact digest's lowercase hex text (DESIGN.md "Governance").
 */
export interface ArtifactSignature {
  /**
   * The signing key's id, as in the worker's signing.keys.
   */
  'keyId'?: (string);
  /**
   * base64 of the 64-byte ed25519 signature.
   */
  'sig'?: (string);
}

/**
 * ed25519 over the artifact digest's lowercase hex text (DESIGN.md "Governance").
 */
export interface ArtifactSignature__Output {
  /**
   * The signing key's id, as in the worker's signing.keys.
   */
  'keyId': (string);
  /**
   * base64 of the 64-byte ed25519 signature.
   */
  'sig': (string);
}
