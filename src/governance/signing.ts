/**
 * Deploy signatures: ed25519 (node:crypto) over the artifact digest's hex text. `signing.keys`
 * maps key ids to public keys (PEM or base64 SPKI DER); a deploy asking for a trust level in
 * `signing.requireFor` (enforced once any key is configured) needs `signature: {keyId, sig}`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import { StrataError } from '../core/errors.ts';
import type { Trust } from '../core/tiers.ts';

export interface Signature {
  keyId: string;
  sig: string;
}

export const signatureSchema = z.object({ keyId: z.string().min(1).max(64), sig: z.string().min(1).max(512) }).strict();

export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith('-----BEGIN')
    ? createPublicKey(trimmed)
    : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`an ${key.asymmetricKeyType} key, not ed25519`);
  return key;
}

export class Signer {
  readonly #keys = new Map<string, KeyObject>();
  readonly #requireFor: ReadonlySet<Trust>;

  constructor(settings: Config['signing']) {
    for (const [id, text] of Object.entries(settings.keys)) {
      try {
        this.#keys.set(id, parsePublicKey(text));
      } catch (err) {
        throw new StrataError(
          'invalid_config',
          `signing.keys.${id} is not an ed25519 public key (PEM or base64 SPKI): ${(err as Error).message}`,
        );
      }
    }
    this.#requireFor = new Set(this.#keys.size > 0 ? settings.requireFor : []);
  }

  required(trust: Trust): boolean {
    return this.#requireFor.has(trust);
  }

  /**
   * Check a deploy's signature over `digest`. Returns the verified signature, or undefined for
   * an unsigned deploy that needs none; throws signature_required / signature_invalid (403).
   */
  check(digest: string, trust: Trust, given: unknown): Signature | undefined {
    if (given === undefined || given === null) {
      if (!this.required(trust)) return undefined;
      throw new StrataError(
        'signature_required',
        `${trust} functions need a signature on this node (signing.requireFor): sign the digest ${digest} (POST /v1/functions?dryRun=1 gives it; strata fn deploy --sign KEY does both) and send "signature": {"keyId", "sig"}`,
        { digest },
      );
    }
    const parsed = signatureSchema.safeParse(given);
    if (!parsed.success)
      throw new StrataError('signature_invalid', 'signature must be {"keyId": "...", "sig": "<base64 ed25519>"}');
    const { keyId, sig } = parsed.data;
    const key = this.#keys.get(keyId);
    if (!key)
      throw new StrataError(
        'signature_invalid',
        `no signing key "${keyId}" is configured on this node (signing.keys)`,
        {
          keyId,
        },
      );
    const ok = (() => {
      try {
        return verify(null, Buffer.from(digest), key, Buffer.from(sig, 'base64'));
      } catch {
        return false;
      }
    })();
    if (!ok)
      throw new StrataError(
        'signature_invalid',
        `the signature by "${keyId}" does not verify over the digest ${digest}: the code or manifest changed after signing, or the key is wrong`,
        { keyId, digest },
      );
    return { keyId, sig };
  }
}

/** A new key pair: the private key as PEM (keep it), the public key as base64 SPKI (signing.keys). */
export function generateSigningKey(): { privateKeyPem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

/** Sign a digest's hex text with a PEM private key (the CLI's --sign). */
export function signDigest(privateKeyPem: string, digest: string): string {
  return sign(null, Buffer.from(digest), createPrivateKey(privateKeyPem)).toString('base64');
}
