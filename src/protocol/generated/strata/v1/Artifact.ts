// Original file: proto/strata/v1/link.proto

import type { ArtifactSignature as _strata_v1_ArtifactSignature, ArtifactSignature__Output as _strata_v1_ArtifactSignature__Output } from '../../strata/v1/ArtifactSignature.ts';

/**
 * A function version: its manifest (JSON) and code bytes. The receiver recomputes the digest and
 * refuses a mismatch. The digest rule, exactly:
 * digest = hex(sha256( C(manifest) + "\n" + hex(sha256(code)) ))
 * - hex(): lowercase hexadecimal; "+" joins UTF-8 strings.
 * - manifest: the object in manifest_json. It is the NORMALISED manifest: every default of the
 * manifest schema applied (trust, limits, permissions, priority, ...) as the registry stored it,
 * and WITHOUT the `source` field (the code travels as `code`). A Master sends it as it got it
 * from the registry; it never adds or drops fields.
 * - C(x): canonical JSON - objects with keys sorted by UTF-16 code units and members whose value is
 * undefined left out, arrays in order, no whitespace anywhere, strings and numbers as JSON.stringify
 * writes them (ECMAScript rules).
 * - code: for runtimes "js" and "script", the UTF-8 bytes of the manifest's source text; for the
 * others (wasm, ...), the uploaded module bytes.
 */
export interface Artifact {
  'digest'?: (string);
  'manifestJson'?: (Buffer | Uint8Array | string);
  'code'?: (Buffer | Uint8Array | string);
  /**
   * The deploy's signature over `digest`, when the version was signed (absent otherwise). Not
   * part of the digest. The worker verifies it again against its own signing.keys before it
   * admits the artifact; where its signing.requireFor needs one, a missing or failing signature
   * ends the task "rejected", code "signature_required" / "signature_invalid".
   */
  'signature'?: (_strata_v1_ArtifactSignature | null);
}

/**
 * A function version: its manifest (JSON) and code bytes. The receiver recomputes the digest and
 * refuses a mismatch. The digest rule, exactly:
 * digest = hex(sha256( C(manifest) + "\n" + hex(sha256(code)) ))
 * - hex(): lowercase hexadecimal; "+" joins UTF-8 strings.
 * - manifest: the object in manifest_json. It is the NORMALISED manifest: every default of the
 * manifest schema applied (trust, limits, permissions, priority, ...) as the registry stored it,
 * and WITHOUT the `source` field (the code travels as `code`). A Master sends it as it got it
 * from the registry; it never adds or drops fields.
 * - C(x): canonical JSON - objects with keys sorted by UTF-16 code units and members whose value is
 * undefined left out, arrays in order, no whitespace anywhere, strings and numbers as JSON.stringify
 * writes them (ECMAScript rules).
 * - code: for runtimes "js" and "script", the UTF-8 bytes of the manifest's source text; for the
 * others (wasm, ...), the uploaded module bytes.
 */
export interface Artifact__Output {
  'digest': (string);
  'manifestJson': (Buffer);
  'code': (Buffer);
  /**
   * The deploy's signature over `digest`, when the version was signed (absent otherwise). Not
   * part of the digest. The worker verifies it again against its own signing.keys before it
   * admits the artifact; where its signing.requireFor needs one, a missing or failing signature
   * ends the task "rejected", code "signature_required" / "signature_invalid".
   */
  'signature': (_strata_v1_ArtifactSignature__Output | null);
}
