/**
 * Dispatch: the message that hands one recorded attempt to its worker, with the artifact inline
 * when it is small (content-addressed, so cached by digest: one catalogue read per burst).
 */
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

  constructor(options: { catalogue: Catalogue; inlineArtifactBytes: number; log: MasterLogger }) {
    this.#catalogue = options.catalogue;
    this.#inlineBytes = options.inlineArtifactBytes;
    this.#log = options.log;
  }

  /** The dispatch message of an attempt recorded in the store. */
  send(task: TaskRow, worker: WorkerState): void {
    const inline = this.#inline(task.digest);
    worker.send({
      dispatch: {
        task: { taskId: task.id, attempt: task.attempt, epoch: task.epoch },
        function: { name: task.functionName, version: task.functionVersion, digest: task.digest },
        inline,
        inputJson: Buffer.from(task.inputJson),
        deadlineMs: 0,
        timeoutMs: task.timeoutMs,
        priority: task.priority,
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
