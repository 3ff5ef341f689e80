/**
 * Length-prefixed frames for the resident runner protocol: a 4-byte big-endian payload length,
 * then that many bytes of UTF-8 JSON. Used on both ends (host and the runner inside the
 * container), so this file imports nothing and runs in plain Node.
 */

export const FRAME_HEADER_BYTES = 4;

/** Encode one message as a frame. */
export function encodeFrame(message: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export class FrameTooLargeError extends Error {
  readonly size: number;
  constructor(size: number, max: number) {
    super(`a frame of ${size} bytes exceeds the ${max}-byte limit`);
    this.name = 'FrameTooLargeError';
    this.size = size;
  }
}

/**
 * Incremental decoder: push() any chunking of the byte stream, get back whole messages.
 * A frame over `maxFrameBytes` throws FrameTooLargeError before its payload is buffered, so a
 * hostile peer cannot make the other side allocate without bound.
 */
export class FrameDecoder {
  /** May be changed between pushes (the cap follows the current invocation's result limit). */
  maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrameBytes = 64 * 1024 * 1024) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.#buffered;
  }

  push(chunk: Uint8Array): unknown[] {
    if (chunk.length > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.#buffered += chunk.length;
    }
    const messages: unknown[] = [];
    while (this.#buffered >= FRAME_HEADER_BYTES) {
      const head = this.#peek(FRAME_HEADER_BYTES);
      const size = head.readUInt32BE(0);
      if (size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
      if (this.#buffered < FRAME_HEADER_BYTES + size) break;
      const frame = this.#take(FRAME_HEADER_BYTES + size);
      messages.push(JSON.parse(frame.subarray(FRAME_HEADER_BYTES).toString('utf8')));
    }
    return messages;
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    this.#chunks = [Buffer.concat(this.#chunks)];
    return (this.#chunks[0] as Buffer).subarray(0, n);
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return out;
  }
}
