// Original file: proto/strata/v1/link.proto


/**
 * A function version: its manifest (JSON) and code bytes. The digest is computed by the
 * registry that made it; the receiver recomputes it the same way and refuses a mismatch.
 */
export interface Artifact {
  'digest'?: (string);
  'manifestJson'?: (Buffer | Uint8Array | string);
  'code'?: (Buffer | Uint8Array | string);
}

/**
 * A function version: its manifest (JSON) and code bytes. The digest is computed by the
 * registry that made it; the receiver recomputes it the same way and refuses a mismatch.
 */
export interface Artifact__Output {
  'digest': (string);
  'manifestJson': (Buffer);
  'code': (Buffer);
}
