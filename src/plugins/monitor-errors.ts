/**
 * How monitor hook errors reach the execution record although monitor hooks run off the
 * invocation's path (docs/plugins.md, "Errors in the record"):
 *   - an error of a `start`, `log` or `sample` event that is in by the time the post phase ends
 *     goes into the record as it is sealed (the host adds one in-process post hook for it);
 *   - one that comes later (a slow monitor; every `finish` event, which is delivered after the
 *     record was saved) is appended to the stored record (GET /v1/executions/:id shows it; the
 *     reply already sent and a copy already sent to a Master do not).
 * Each lands in record.plugins.errors as {plugin, phase: "monitor", message}. Bounded: past
 * MAX_OPEN executions tracked, the oldest is forgotten (its late errors stay in the metrics only).
 */
import type { ExecutionRecord } from '../core/execution.ts';
import { pluginError } from '../executor/phase-runner.ts';
import type { MonitorEvent, PostHook } from '../executor/phases.ts';

/** Where late errors are appended: the execution store (get + save, an upsert). */
export interface RecordAppender {
  get(id: string): ExecutionRecord | undefined;
  save(record: ExecutionRecord): void;
}

interface Open {
  /** Errors waiting for the seal. */
  errors: { plugin: string; message: string }[];
  /** `finish` was sent, so the record is stored: errors are appended to it from now on. */
  finished: boolean;
  inFlight: number;
}

const MAX_OPEN = 10_000;

export class MonitorErrors {
  readonly #open = new Map<string, Open>();
  readonly #store: RecordAppender | undefined;
  readonly #onAppendFailed: (err: Error) => void;

  constructor(store: RecordAppender | undefined, onAppendFailed: (err: Error) => void) {
    this.#store = store;
    this.#onAppendFailed = onAppendFailed;
  }

  /** The in-process post hook that moves the errors in so far into the record being sealed. */
  readonly sealHook: PostHook = {
    name: 'plugins.monitor-errors',
    post: (record) => {
      const open = this.#entry(record.id);
      for (const e of open.errors.splice(0)) pluginError(record, e.plugin, 'monitor', e.message);
      this.#forgetIfDone(record.id, open);
    },
  };

  /** A monitor call for `event` was sent. */
  begin(event: MonitorEvent): void {
    if (!event.executionId) return;
    const open = this.#entry(event.executionId);
    open.inFlight++;
    if (event.type === 'finish') {
      // `finish` goes out after the record was saved: anything still waiting is appended now.
      open.finished = true;
      if (open.errors.length > 0) this.#append(event.executionId, open.errors.splice(0));
    }
  }

  /** The call for `event` ended; `message` when the hook of `plugin` failed. */
  end(event: MonitorEvent, plugin: string, message?: string): void {
    const id = event.executionId;
    if (!id) return;
    const open = this.#open.get(id);
    if (!open) {
      if (message) this.#append(id, [{ plugin, message }]);
      return;
    }
    open.inFlight--;
    if (message) {
      // Between the seal and `finish` the record may not be stored yet (the group commit is
      // asynchronous): an append then would be lost or overwritten, so it waits for `finish`.
      if (open.finished) this.#append(id, [{ plugin, message }]);
      else open.errors.push({ plugin, message });
    }
    this.#forgetIfDone(id, open);
  }

  /** Executions tracked now (tests: nothing is kept once their calls are over). */
  get tracked(): number {
    return this.#open.size;
  }

  #entry(id: string): Open {
    let open = this.#open.get(id);
    if (!open) {
      if (this.#open.size >= MAX_OPEN) {
        const oldest = this.#open.keys().next().value;
        if (oldest !== undefined) this.#open.delete(oldest);
      }
      open = { errors: [], finished: false, inFlight: 0 };
      this.#open.set(id, open);
    }
    return open;
  }

  #forgetIfDone(id: string, open: Open): void {
    if (open.finished && open.inFlight <= 0) this.#open.delete(id);
  }

  #append(id: string, errors: { plugin: string; message: string }[]): void {
    if (!this.#store) return;
    try {
      const record = this.#store.get(id);
      if (!record) return;
      for (const e of errors) pluginError(record, e.plugin, 'monitor', e.message);
      this.#store.save(record);
    } catch (err) {
      this.#onAppendFailed(err as Error);
    }
  }
}
