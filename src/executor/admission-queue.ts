/**
 * Waiting invocations, highest priority first and first-come within a priority. Bounded: the
 * caller refuses work (503) when it is full.
 */
export interface Waiting {
  priority: number;
  seq: number;
}

export class AdmissionQueue<T extends Waiting> {
  readonly #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  /** Binary insertion keeps the array ordered; queues are short and removals are at the front. */
  push(item: T): void {
    let lo = 0;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.#items[mid] as T;
      if (other.priority > item.priority || (other.priority === item.priority && other.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#items.splice(lo, 0, item);
  }

  shift(): T | undefined {
    return this.#items.shift();
  }

  remove(item: T): boolean {
    const index = this.#items.indexOf(item);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    return true;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.#items[Symbol.iterator]();
  }
}
