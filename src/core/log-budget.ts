/** The kept parts of a budget, to carry across a process boundary and restore on the other side. */
export interface LogSnapshot {
  head: string;
  tail: string;
  droppedBytes: number;
}

/**
 * Keeps a function's log output within a byte budget: the head and the tail are kept and the
 * middle is replaced by a marker saying how many bytes were dropped. Memory use is bounded by
 * the budget whatever the function prints.
 */
export class LogBudget {
  readonly budget: number;
  #head = '';
  #headBytes = 0;
  /** Tail chunks, kept to at most tailBudget bytes. */
  #tail: string[] = [];
  #tailBytes = 0;
  #dropped = 0;
  #total = 0;
  readonly #headBudget: number;
  readonly #tailBudget: number;
  /** Sees every write as it happens, before budgeting (live log streaming). */
  readonly #tap: ((text: string) => void) | undefined;

  constructor(budgetBytes: number, tap?: (text: string) => void) {
    this.#tap = tap;
    this.budget = Math.max(256, budgetBytes);
    this.#headBudget = Math.floor(this.budget / 2);
    this.#tailBudget = this.budget - this.#headBudget;
  }

  /** Total bytes written, kept or not. */
  get totalBytes(): number {
    return this.#total;
  }

  get droppedBytes(): number {
    return this.#dropped;
  }

  write(text: string): void {
    if (text.length === 0) return;
    this.#tap?.(text);
    const bytes = Buffer.byteLength(text);
    this.#total += bytes;
    if (this.#tailBytes === 0 && this.#headBytes + bytes <= this.#headBudget) {
      this.#head += text;
      this.#headBytes += bytes;
      return;
    }
    let rest = text;
    if (this.#tailBytes === 0 && this.#headBytes < this.#headBudget) {
      const room = this.#headBudget - this.#headBytes;
      const part = sliceBytes(rest, 0, room);
      this.#head += part;
      this.#headBytes += Buffer.byteLength(part);
      rest = rest.slice(part.length);
    }
    this.#pushTail(rest);
  }

  #pushTail(text: string): void {
    let chunk = text;
    let bytes = Buffer.byteLength(chunk);
    if (bytes > this.#tailBudget) {
      const keep = sliceBytesFromEnd(chunk, this.#tailBudget);
      this.#dropped += bytes - Buffer.byteLength(keep);
      chunk = keep;
      bytes = Buffer.byteLength(keep);
      this.#dropped += this.#tailBytes;
      this.#tail = [];
      this.#tailBytes = 0;
    }
    this.#tail.push(chunk);
    this.#tailBytes += bytes;
    while (this.#tailBytes > this.#tailBudget) {
      const first = this.#tail[0] as string;
      const firstBytes = Buffer.byteLength(first);
      const excess = this.#tailBytes - this.#tailBudget;
      if (firstBytes <= excess) {
        this.#tail.shift();
        this.#tailBytes -= firstBytes;
        this.#dropped += firstBytes;
      } else {
        const kept = sliceBytesFromEnd(first, firstBytes - excess);
        const keptBytes = Buffer.byteLength(kept);
        this.#tail[0] = kept;
        this.#tailBytes -= firstBytes - keptBytes;
        this.#dropped += firstBytes - keptBytes;
      }
    }
  }

  snapshot(): LogSnapshot {
    return { head: this.#head, tail: this.#tail.join(''), droppedBytes: this.#dropped };
  }

  /** Add what another budget kept (a sandbox host's), dropped bytes included. */
  restore(snapshot: LogSnapshot): void {
    this.write(snapshot.head);
    if (snapshot.droppedBytes > 0) {
      this.#dropped += snapshot.droppedBytes;
      this.#total += snapshot.droppedBytes;
      // Whatever comes next belongs after the gap, so it must not join the head.
      if (this.#tailBytes === 0) this.#headBytes = this.#headBudget;
    }
    this.write(snapshot.tail);
  }

  /** The kept text, with a marker where bytes were dropped. */
  text(): string {
    if (this.#dropped === 0) return this.#head + this.#tail.join('');
    return `${this.#head}\n…[${this.#dropped} bytes of log output dropped]…\n${this.#tail.join('')}`;
  }
}

/** The longest prefix of `text` that fits in `maxBytes` UTF-8 bytes (never splits a character). */
function sliceBytes(text: string, start: number, maxBytes: number): string {
  const buf = Buffer.from(text.slice(start));
  if (buf.length <= maxBytes) return text.slice(start);
  let end = maxBytes;
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString();
}

/** The longest suffix of `text` that fits in `maxBytes` UTF-8 bytes. */
function sliceBytesFromEnd(text: string, maxBytes: number): string {
  const buf = Buffer.from(text);
  if (buf.length <= maxBytes) return text;
  let start = buf.length - maxBytes;
  while (start < buf.length && ((buf[start] as number) & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString();
}
