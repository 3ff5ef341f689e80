/**
 * Dispatch: the message that hands one recorded attempt to its worker, with the artifact inline
 * when it is small (content-addressed, so cached by digest: one catalogue read per burst).
 */
import type { ArtifactSignatures } from '../governance/artifact-signatures.ts';
import { tenantOfKey } from '../tenants/namespace.ts';
import type { MasterLogger } from './master.ts';
import type { Catalogue, TaskRow } from './types.ts';
import type { WorkerState } from './worker-state.ts';

interface InlineArtifact {
  digest: string;
  manifestJson: Buffer;
  code: Uint8Array;
}

export class Dispatcher {
  readonly #catalogue: Catalogue;
  readonly #inlineBytes: number;
  readonly #log: MasterLogger;
  readonly #signatures: Pick<ArtifactSignatures, 'get'> | undefined;

  constructor(options: {
    catalogue: Catalogue;
    inlineArtifactBytes: number;
    log: MasterLogger;
    /** Deploy signatures by digest: they travel with the inline artifact. */
    signatures?: Pick<ArtifactSignatures, 'get'>;
  }) {
    this.#catalogue = options.catalogue;
    this.#signatures = options.signatures;
    this.#inlineBytes = options.inlineArtifactBytes;
    this.#log = options.log;
  }

  /** The dispatch message of an attempt recorded in the store. */
  send(task: TaskRow, worker: WorkerState): void {
    const cached = this.#inline(task.digest);
    const inline = cached && { ...cached, signature: this.#signatures?.get(task.digest) ?? null };
    worker.send({
      dispatch: {
        task: { taskId: task.id, attempt: task.attempt, epoch: task.epoch },
        function: { name: task.functionName, version: task.functionVersion, digest: task.digest },
        inline,
        inputJson: Buffer.from(task.inputJson),
        deadlineMs: 0,
        timeoutMs: task.timeoutMs,
        priority: task.priority,
        // The catalogue keys a tenant's function `tenant/name`: the task is that tenant's.
        tenant: tenantOfKey(task.functionName),
      },
    });
  }

  /** Inline artifacts by digest (content-addressed, so immutable): one catalogue read per burst. */
  readonly #inlines = new Map<string, InlineArtifact | null>();

  #inline(digest: string): InlineArtifact | null {
    if (this.#inlineBytes <= 0) return null;
    const cached = this.#inlines.get(digest);
    if (cached !== undefined) return cached;
    const fn = this.#catalogue.getByDigest(digest);
    if (!fn) return null;
    let inline: InlineArtifact | null = null;
    try {
      const artifact = this.#catalogue.artifact(fn);
      if (artifact.code.byteLength <= this.#inlineBytes)
        inline = {
          digest: artifact.digest,
          manifestJson: Buffer.from(JSON.stringify(artifact.manifest)),
          code: artifact.code,
        };
    } catch (err) {
      // Unreadable here: the worker will ask FetchArtifact and report what it gets.
      this.#log.warn({ digest, err: (err as Error).message }, 'artifact unreadable');
      return null;
    }
    if (this.#inlines.size >= 64) this.#inlines.delete(this.#inlines.keys().next().value as string);
    this.#inlines.set(digest, inline);
    return inline;
  }
}
