/**
 * Live log chunks waiting to be sent: bounded by bytes; what does not fit is dropped and counted
 * (the final logs travel in the result record anyway).
 */
export interface PendingLog {
  taskId: string;
  attempt: number;
  epoch: string;
  seq: number;
  data: Buffer;
  droppedBytes: number;
}

export class LogBuffer {
  readonly maxBytes: number;
  #queue: PendingLog[] = [];
  #bytes = 0;
  #dropped = 0;
  readonly #seq = new Map<string, { seq: number; dropped: number }>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get droppedBytes(): number {
    return this.#dropped;
  }

  get bufferedBytes(): number {
    return this.#bytes;
  }

  push(ref: { taskId: string; attempt: number; epoch: string }, text: string): void {
    const data = Buffer.from(text);
    const key = `${ref.taskId}:${ref.epoch}`;
    const state = this.#seq.get(key) ?? { seq: 0, dropped: 0 };
    this.#seq.set(key, state);
    if (this.#bytes + data.byteLength > this.maxBytes) {
      this.#dropped += data.byteLength;
      state.dropped += data.byteLength;
      return;
    }
    this.#queue.push({ ...ref, seq: state.seq++, data, droppedBytes: state.dropped });
    this.#bytes += data.byteLength;
  }

  /** Take everything buffered (to send now). */
  drain(): PendingLog[] {
    const out = this.#queue;
    this.#queue = [];
    this.#bytes = 0;
    return out;
  }

  /** Forget the sequence state of a finished task. */
  forget(ref: { taskId: string; epoch: string }): void {
    this.#seq.delete(`${ref.taskId}:${ref.epoch}`);
  }
}
