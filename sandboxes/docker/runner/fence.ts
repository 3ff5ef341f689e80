/**
 * Where a JS child's raw stdout/stderr stops belonging to an invocation. The child writes a
 * per-invocation fence (a random token) to fd 1 and fd 2 when the invocation ends; bytes before
 * it belong to the invocation, bytes after it (or while none runs) are "late": dropped and
 * counted, never given to the next invocation. Pure (no I/O), so it is unit-tested; runs inside
 * the container, so it imports only node: built-ins.
 */
import { StringDecoder } from 'node:string_decoder';

export type FenceState = 'idle' | 'live' | 'fenced';

export class FenceScanner {
  readonly #onText: (text: string) => void;
  readonly #onLate: (bytes: number) => void;
  #state: FenceState = 'idle';
  #fence: Buffer = Buffer.alloc(0);
  #carry: Buffer = Buffer.alloc(0);
  #decoder = new StringDecoder('utf8');

  constructor(onText: (text: string) => void, onLate: (bytes: number) => void) {
    this.#onText = onText;
    this.#onLate = onLate;
  }

  get state(): FenceState {
    return this.#state;
  }

  /** An invocation starts: its output flows until `fence` shows up. */
  open(fence: string): void {
    this.#state = 'live';
    this.#fence = Buffer.from(fence, 'latin1');
    this.#carry = Buffer.alloc(0);
    this.#decoder = new StringDecoder('utf8');
  }

  /** Feed bytes; returns true when the fence was seen in them. */
  push(chunk: Buffer): boolean {
    if (this.#state !== 'live') {
      this.#onLate(chunk.length);
      return false;
    }
    const buf = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    const at = buf.indexOf(this.#fence);
    if (at >= 0) {
      this.#emit(buf.subarray(0, at));
      this.#flushDecoder();
      const after = buf.length - at - this.#fence.length;
      if (after > 0) this.#onLate(after);
      this.#carry = Buffer.alloc(0);
      this.#state = 'fenced';
      return true;
    }
    // Hold back a tail that could be the start of the fence split across chunks.
    const keep = this.#partialFenceAtEnd(buf);
    this.#emit(buf.subarray(0, buf.length - keep));
    this.#carry = Buffer.from(buf.subarray(buf.length - keep));
    return false;
  }

  /** The invocation is over (fence seen, stream gone, or given up waiting): later bytes are late. */
  close(): void {
    if (this.#state === 'live') {
      this.#emit(this.#carry);
      this.#flushDecoder();
    }
    this.#carry = Buffer.alloc(0);
    this.#state = 'idle';
  }

  #emit(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const text = this.#decoder.write(bytes);
    if (text) this.#onText(text);
  }

  #flushDecoder(): void {
    const rest = this.#decoder.end();
    if (rest) this.#onText(rest);
  }

  #partialFenceAtEnd(buf: Buffer): number {
    const fence = this.#fence;
    for (let k = Math.min(fence.length - 1, buf.length); k > 0; k--) {
      if (buf.subarray(buf.length - k).equals(fence.subarray(0, k))) return k;
    }
    return 0;
  }
}
