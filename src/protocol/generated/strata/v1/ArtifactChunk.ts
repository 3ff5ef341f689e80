// Original file: proto/strata/v1/link.proto

import type { ArtifactSignature as _strata_v1_ArtifactSignature, ArtifactSignature__Output as _strata_v1_ArtifactSignature__Output } from '../../strata/v1/ArtifactSignature.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * The first chunk carries digest, manifest_json and total code size; code bytes follow in order,
 * over one or more chunks.
 */
export interface ArtifactChunk {
  'digest'?: (string);
  'manifestJson'?: (Buffer | Uint8Array | string);
  'codeSize'?: (number | string | Long);
  'code'?: (Buffer | Uint8Array | string);
  /**
   * First chunk only: the signature, as in Artifact.signature.
   */
  'signature'?: (_strata_v1_ArtifactSignature | null);
}

/**
 * The first chunk carries digest, manifest_json and total code size; code bytes follow in order,
 * over one or more chunks.
 */
export interface ArtifactChunk__Output {
  'digest': (string);
  'manifestJson': (Buffer);
  'codeSize': (string);
  'code': (Buffer);
  /**
   * First chunk only: the signature, as in Artifact.signature.
   */
  'signature': (_strata_v1_ArtifactSignature__Output | null);
}
