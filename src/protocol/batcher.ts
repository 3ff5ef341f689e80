/**
 * Groups items that arrive close together so they share one sqlite commit. Idle: flushed on the
 * next turn of the event loop (no added latency). Busy (the owner says more items are on their
 * way, e.g. other tasks are in flight): waits `busyDelayMs` so a burst costs a few commits
 * instead of one per item.
 */
export class Batcher<T> {
  readonly #flush: (items: T[]) => void;
  readonly #busyDelayMs: number;
  readonly #busy: () => boolean;
  #items: T[] = [];
  #scheduled = false;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(flush: (items: T[]) => void, options: { busy?: () => boolean; busyDelayMs?: number } = {}) {
    this.#flush = flush;
    this.#busy = options.busy ?? (() => false);
    this.#busyDelayMs = options.busyDelayMs ?? 1;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#timer = this.#busy() ? setTimeout(() => this.flush(), this.#busyDelayMs) : setImmediate(() => this.flush());
  }

  /** Flush now (also used at shutdown). */
  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    this.#scheduled = false;
    const items = this.#items;
    this.#items = [];
    if (items.length > 0) this.#flush(items);
  }

  /** Drop what is waiting (the store is closing and the items will be re-derived). */
  clear(): void {
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
    }
    this.#timer = undefined;
    this.#scheduled = false;
    this.#items = [];
  }
}
