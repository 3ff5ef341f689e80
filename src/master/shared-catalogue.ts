/**
 * The function catalogue shared by Masters on one store: a deploy to any Master is recorded in
 * the store (PostgreSQL `master_functions` + NOTIFY) and replayed, in order, into every Master's
 * own catalogue (src/registry, content-addressed: the same deploy gives the same digest), so a
 * task can be submitted to any Master and its artifact fetched from any Master. Reads stay
 * synchronous and local. A deploy's signature is published with it and handed to each Master's
 * signature store, so every Master sends it with the artifact.
 */
import { parseSignature } from '../governance/artifact-signatures.ts';
import type { Signature } from '../governance/signing.ts';
import type { MasterStoreBackend } from './store-backend.ts';
import type { Catalogue, CatalogueFunction } from './types.ts';

export class SharedCatalogue implements Catalogue {
  readonly #local: Catalogue;
  readonly #backend: MasterStoreBackend;
  readonly #log: { warn(obj: object, msg?: string): void };
  #seq = 0;
  #importing: Promise<void> | undefined;
  #again = false;
  #unlisten: (() => Promise<void>) | undefined;
  readonly #onSignature: (digest: string, signature: Signature) => void;

  constructor(
    local: Catalogue,
    backend: MasterStoreBackend,
    log: { warn(obj: object, msg?: string): void },
    onSignature: (digest: string, signature: Signature) => void = () => {},
  ) {
    this.#local = local;
    this.#backend = backend;
    this.#log = log;
    this.#onSignature = onSignature;
  }

  /** Import every deploy made so far, then follow new ones. */
  async start(): Promise<void> {
    this.#unlisten = await this.#backend.onFunctions(() => void this.sync());
    await this.sync();
  }

  async stop(): Promise<void> {
    await this.#unlisten?.().catch(() => {});
  }

  /** Replay deploys published since the last one imported (one run at a time). */
  async sync(): Promise<void> {
    if (this.#importing) {
      this.#again = true;
      return this.#importing;
    }
    this.#importing = (async () => {
      do {
        this.#again = false;
        for (const f of await this.#backend.functionsSince(this.#seq)) {
          try {
            const code = f.code.byteLength > 0 ? f.code : undefined;
            const { fn } = await this.#local.deploy(JSON.parse(f.manifestJson), code, ...(f.tenant ? [f.tenant] : []));
            if (f.signatureJson) this.#onSignature(fn.digest, parseSignature(JSON.parse(f.signatureJson)));
          } catch (err) {
            this.#log.warn({ seq: f.seq, err: (err as Error).message }, 'shared deploy not imported');
          }
          this.#seq = f.seq;
        }
      } while (this.#again);
    })().finally(() => {
      this.#importing = undefined;
    });
    return this.#importing;
  }

  async deploy(
    manifest: unknown,
    code?: Uint8Array,
    tenant?: string,
    signature?: Signature,
  ): Promise<{ created: boolean; fn: CatalogueFunction }> {
    const out = await this.#local.deploy(manifest, code, ...(tenant !== undefined ? [tenant] : []));
    // Published once it is valid here; an equal deploy elsewhere is a no-op (same digest), so a
    // signature given later for the same content is published too.
    if (out.created || signature)
      await this.#backend.publishFunction(
        JSON.stringify(manifest),
        code ?? new Uint8Array(),
        tenant ?? null,
        signature ? JSON.stringify(signature) : null,
      );
    return out;
  }

  get(name: string, version?: number): CatalogueFunction {
    return this.#local.get(name, version);
  }

  getByDigest(digest: string): CatalogueFunction | undefined {
    return this.#local.getByDigest(digest);
  }

  artifact(fn: CatalogueFunction) {
    return this.#local.artifact(fn);
  }
}
