/**
 * The byte channel between the worker and a sandbox host process: a private socket on the host's
 * fd 3 (not Node's IPC channel, whose parser throws an uncaught exception in the worker on a
 * malformed frame). Frames are a 4-byte big-endian length and a payload:
 * - worker -> host: v8.serialize(message) (typed arrays travel as they are; the host trusts us);
 * - host -> worker: UTF-8 JSON, read by HostFrameReader, which bounds every frame before it is
 *   buffered and never throws: a frame too large or not JSON is a violation, reported once.
 */
import type { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';

export const HOST_CHANNEL_FD = 3;
const HEADER_BYTES = 4;

/** Worker side: encode a request for the host. */
export function encodeRequest(message: unknown): Buffer {
  return frame(serialize(message));
}

/** Host side: encode a reply for the worker. */
export function encodeReply(message: unknown): Buffer {
  return frame(Buffer.from(JSON.stringify(message), 'utf8'));
}

/**
 * Writes to a channel, batched per turn of the event loop: the first write of a turn corks the
 * socket and the check phase of the same turn uncorks it, so the frames of every invocation that
 * started (or finished) in one turn leave in one writev — one syscall and one wake-up of the
 * reader instead of one per frame. At one invocation at a time it costs nothing measurable.
 */
export function batchedWriter(socket: Socket): (frame: Buffer) => void {
  let corked = false;
  const flush = () => {
    corked = false;
    if (!socket.destroyed) socket.uncork();
  };
  return (frame) => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    socket.write(frame);
  };
}

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, HEADER_BYTES);
  return out;
}

/** Splits a byte stream into whole frames; a frame over `maxFrameBytes` is refused before buffering. */
class Frames {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Whole frames' payloads, or the size of a frame that is too large. */
  push(chunk: Buffer): { payloads: Buffer[]; tooLarge?: number } {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const payloads: Buffer[] = [];
    while (this.#buffered >= HEADER_BYTES) {
      if ((this.#chunks[0] as Buffer).length < HEADER_BYTES) this.#chunks = [Buffer.concat(this.#chunks)];
      const size = (this.#chunks[0] as Buffer).readUInt32BE(0);
      if (size > this.#maxFrameBytes) return { payloads, tooLarge: size };
      if (this.#buffered < HEADER_BYTES + size) break;
      const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
      payloads.push(all.subarray(HEADER_BYTES, HEADER_BYTES + size));
      const rest = all.subarray(HEADER_BYTES + size);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
    }
    return { payloads };
  }
}

/** Worker side: host bytes in, parsed JSON values out; the first bad frame ends the reading. */
export class HostFrameReader {
  readonly #frames: Frames;
  #violation: string | undefined;

  constructor(maxFrameBytes: number) {
    this.#frames = new Frames(maxFrameBytes);
  }

  get violation(): string | undefined {
    return this.#violation;
  }

  /** Never throws. After a violation every later byte is ignored. */
  push(chunk: Buffer): { values: unknown[]; violation?: string } {
    if (this.#violation) return { values: [] };
    const { payloads, tooLarge } = this.#frames.push(chunk);
    const values: unknown[] = [];
    for (const payload of payloads) {
      try {
        values.push(JSON.parse(payload.toString('utf8')));
      } catch {
        return this.#break(values, `a frame of ${payload.length} bytes that is not JSON`);
      }
    }
    if (tooLarge !== undefined) return this.#break(values, `a frame of ${tooLarge} bytes, over the frame limit`);
    return { values };
  }

  #break(values: unknown[], reason: string): { values: unknown[]; violation: string } {
    this.#violation = reason;
    return { values, violation: reason };
  }
}

/** Host side: worker bytes in, requests out (the worker is trusted; a bad frame throws). */
export class RequestFrameReader {
  readonly #frames = new Frames(2 ** 31);

  push(chunk: Buffer): unknown[] {
    return this.#frames.push(chunk).payloads.map((payload) => deserialize(payload));
  }
}
