/**
 * The Master's signatures by artifact digest: a deploy to the Master may carry `signature`
 * (as on a worker, a top-level field beside the manifest); it travels with the artifact in the
 * link protocol (Artifact.signature, ArtifactChunk.signature) and each worker verifies it again
 * against its own signing.keys. The Master stores what it was given (well-formed only): it is
 * the worker that decides whether a signature counts.
 */
import { StrataError } from '../core/errors.ts';
import type { Database } from '../store/database.ts';
import { type Signature, signatureSchema } from './signing.ts';

const MIGRATIONS = [
  `CREATE TABLE artifact_signatures (
     digest TEXT PRIMARY KEY,
     key_id TEXT NOT NULL,
     sig TEXT NOT NULL
   );`,
];

/** A signature as the link protocol carries it (keyId/sig), or undefined for none. */
export type WireSignature = { keyId: string; sig: string } | null | undefined;

export function parseSignature(given: unknown): Signature {
  const parsed = signatureSchema.safeParse(given);
  if (!parsed.success)
    throw new StrataError('invalid_request', 'signature must be {"keyId": "...", "sig": "<base64 ed25519>"}');
  return parsed.data;
}

/** The wire form's signature, undefined when absent (an empty message counts as absent). */
export const signatureOfWire = (wire: WireSignature): Signature | undefined =>
  wire?.keyId || wire?.sig ? { keyId: wire.keyId, sig: wire.sig } : undefined;

export class ArtifactSignatures {
  readonly #db: Database;
  readonly #cache = new Map<string, Signature | null>();

  constructor(db: Database) {
    this.#db = db;
    db.migrate('artifact-signatures', MIGRATIONS);
  }

  /** Keep the signature of a digest (a later deploy of the same content with another signature replaces it). */
  set(digest: string, signature: Signature): void {
    this.#db.db
      .prepare(
        'INSERT INTO artifact_signatures (digest, key_id, sig) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET key_id = excluded.key_id, sig = excluded.sig',
      )
      .run(digest, signature.keyId, signature.sig);
    this.#cache.set(digest, signature);
  }

  get(digest: string): Signature | undefined {
    const cached = this.#cache.get(digest);
    if (cached !== undefined) return cached ?? undefined;
    const row = this.#db.db.prepare('SELECT key_id, sig FROM artifact_signatures WHERE digest = ?').get(digest) as
      | { key_id: string; sig: string }
      | undefined;
    const value = row ? { keyId: row.key_id, sig: row.sig } : null;
    if (this.#cache.size > 4096) this.#cache.clear();
    this.#cache.set(digest, value);
    return value ?? undefined;
  }
}
