/**
 * Docker's multiplexed attach stream (Tty false): each chunk is an 8-byte header
 * [stream, 0, 0, 0, size (uint32 BE)] followed by `size` bytes; stream 1 is stdout, 2 stderr.
 * Incremental, so any TCP chunking works; payload bytes are handed on without copying where
 * possible.
 */

export type StreamSink = (chunk: Buffer) => void;

export class DockerStreamDemuxer {
  readonly #onStdout: StreamSink;
  readonly #onStderr: StreamSink;
  #header = Buffer.alloc(8);
  #headerFill = 0;
  #remaining = 0;
  #stream = 0;

  constructor(onStdout: StreamSink, onStderr: StreamSink) {
    this.#onStdout = onStdout;
    this.#onStderr = onStderr;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining === 0) {
        const take = Math.min(8 - this.#headerFill, chunk.length - offset);
        chunk.copy(this.#header, this.#headerFill, offset, offset + take);
        this.#headerFill += take;
        offset += take;
        if (this.#headerFill < 8) return;
        this.#headerFill = 0;
        this.#stream = this.#header[0] as number;
        this.#remaining = this.#header.readUInt32BE(4);
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - offset);
      const part = chunk.subarray(offset, offset + take);
      offset += take;
      this.#remaining -= take;
      // Stream 0 (stdin echo) never carries output here; anything unknown counts as stderr.
      if (this.#stream === 1) this.#onStdout(part);
      else this.#onStderr(part);
    }
  }
}
