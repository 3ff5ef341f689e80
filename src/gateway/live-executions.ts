/**
 * What the gateway knows of running executions beyond their records: every log chunk with its
 * per-execution sequence number (so a follower that joins late gets the backlog, then the rest,
 * in order), and the start/finish events the dashboard's live list shows. It listens to the
 * executor for the worker's life; a finished execution's entry goes (its logs are in the record).
 */
import type { ExecutionRecord } from '../core/execution.ts';
import type { Executor } from '../executor/executor.ts';

export interface LogChunk {
  seq: number;
  text: string;
}

export interface Follower {
  log(chunk: LogChunk): void;
  end(record: ExecutionRecord): void;
}

/** Backlog kept per running execution for late followers; older chunks go first (the record keeps head and tail). */
const BACKLOG_BYTES = 512 * 1024;

interface Entry {
  record: ExecutionRecord;
  chunks: LogChunk[];
  bytes: number;
  seq: number;
}

/** Lines of a text, each with its newline (a last line without one stays as it is). */
export const splitLines = (text: string): string[] => text.match(/[^\n]*\n|[^\n]+$/g) ?? [];

export class LiveExecutions {
  readonly #entries = new Map<string, Entry>();
  readonly #followers = new Map<string, Set<Follower>>();
  readonly #watchers = new Set<(kind: 'start' | 'finish', record: ExecutionRecord) => void>();

  constructor(executor: Executor) {
    executor.on('start', (record) => {
      this.#entry(record.id, record);
      for (const watch of this.#watchers) watch('start', record);
    });
    executor.on('log', (id, text) => {
      // Output that arrives after the end (or for an id never started) has nobody to go to.
      const entry = this.#entries.get(id);
      if (!entry) return;
      // One event per line: a tier that hands over its output in one block at the end (isolate)
      // numbers the same as one that streams it line by line.
      for (const line of splitLines(text)) {
        const chunk = { seq: ++entry.seq, text: line };
        entry.chunks.push(chunk);
        entry.bytes += line.length;
        while (entry.bytes > BACKLOG_BYTES && entry.chunks.length > 1) entry.bytes -= entry.chunks.shift()!.text.length;
        for (const follower of this.#followers.get(id) ?? []) follower.log(chunk);
      }
    });
    executor.on('finish', (record) => {
      this.#entries.delete(record.id);
      const followers = this.#followers.get(record.id);
      this.#followers.delete(record.id);
      for (const follower of followers ?? []) follower.end(record);
      for (const watch of this.#watchers) watch('finish', record);
    });
  }

  #entry(id: string, record: ExecutionRecord): void {
    const entry = this.#entries.get(id);
    if (entry) entry.record = record;
    else this.#entries.set(id, { record, chunks: [], bytes: 0, seq: 0 });
  }

  /** Running executions (newest first). */
  running(): ExecutionRecord[] {
    return [...this.#entries.values()]
      .map((e) => e.record)
      .sort((a, b) => (a.timings.enqueuedAt < b.timings.enqueuedAt ? 1 : -1));
  }

  /** The chunks kept so far for a running execution (undefined when it is not running). */
  backlog(id: string): LogChunk[] | undefined {
    return this.#entries.get(id)?.chunks.slice();
  }

  /** Get every later chunk and the end; returns the unsubscribe function. Call before looking at the state. */
  follow(id: string, follower: Follower): () => void {
    let set = this.#followers.get(id);
    if (!set) {
      set = new Set();
      this.#followers.set(id, set);
    }
    set.add(follower);
    return () => {
      const current = this.#followers.get(id);
      current?.delete(follower);
      if (current?.size === 0) this.#followers.delete(id);
    };
  }

  /** Start and finish of every execution (the live list). */
  watch(listener: (kind: 'start' | 'finish', record: ExecutionRecord) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }
}
