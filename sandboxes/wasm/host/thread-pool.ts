/**
 * Guest worker threads inside a wasm host: one execution slot per thread. A deadline or cancel
 * terminates the thread (V8 stops wasm at the next loop header or call), and a fresh thread is
 * started in the background so the next invocation finds a warm slot. resourceLimits caps each
 * thread's JS heap as a backstop; linear memory is capped at upload.
 */
import { Worker } from 'node:worker_threads';
import type { CoreRunResult } from '../run-core.ts';
import type { ThreadReply, ThreadRequest } from './protocol.ts';

const THREAD_ENTRY = new URL('./guest-thread.ts', import.meta.url);

export interface ThreadOutcome {
  result?: CoreRunResult;
  wallMs: number;
  timedOut?: boolean;
  cancelled?: boolean;
  /** The thread died under the guest (out of memory, internal error). */
  crashed?: string;
  outOfMemory?: boolean;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  keys: Set<string>;
  /** Settles the invocation in flight when the thread dies. */
  onDeath?: (why: string, oom: boolean) => void;
}

export interface ThreadPoolOptions {
  size: number;
  heapMb: number;
}

type Job = (slot: Slot) => void;

/** What a thread keeps warm for a request: the compiled module, component or JS engine. */
function warmKeyOf(request: Omit<ThreadRequest, 'id' | 'module'>): string {
  if (request.meta.kind === 'js') return request.meta.engineDir;
  if (request.meta.kind === 'component') return request.meta.dir;
  return request.key;
}

export class GuestThreads {
  readonly #options: ThreadPoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: ThreadPoolOptions) {
    this.#options = options;
  }

  /** Start `count` threads now (at most the pool's size), so the first invocations pay no thread start-up. */
  warm(count = this.#options.size): void {
    const target = Math.min(count, this.#options.size);
    while (this.#slots.size < target) this.#spawn();
  }

  get size(): number {
    return this.#slots.size;
  }

  run(
    request: Omit<ThreadRequest, 'id' | 'module'>,
    module: WebAssembly.Module | undefined,
    deadline: number,
    signal: AbortSignal,
  ): Promise<ThreadOutcome> {
    return new Promise<ThreadOutcome>((resolve) => {
      const job: Job = (slot) => this.#dispatch(slot, request, module, deadline, signal, resolve);
      const slot = this.#idle(warmKeyOf(request));
      if (slot) job(slot);
      else this.#queue.push(job);
    });
  }

  #dispatch(
    slot: Slot,
    request: Omit<ThreadRequest, 'id' | 'module'>,
    module: WebAssembly.Module | undefined,
    deadline: number,
    signal: AbortSignal,
    resolve: (outcome: ThreadOutcome) => void,
  ): void {
    slot.busy = true;
    const id = this.#nextId++;
    const started = performance.now();
    let done = false;
    const finish = (outcome: Omit<ThreadOutcome, 'wallMs'>, kill: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      slot.worker.off('message', onMessage);
      slot.onDeath = undefined;
      resolve({ ...outcome, wallMs: performance.now() - started });
      if (kill) this.#retire(slot);
      else this.#release(slot);
    };
    const onMessage = (reply: ThreadReply) => {
      if (reply.id === id) finish({ result: reply.result }, false);
    };
    const onAbort = () => finish({ cancelled: true }, true);
    const timer = setTimeout(() => finish({ timedOut: true }, true), Math.max(0, deadline - Date.now()));
    slot.onDeath = (why, oom) => finish({ crashed: why, outOfMemory: oom }, true);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    slot.worker.on('message', onMessage);
    const needsModule = module !== undefined && !slot.keys.has(request.key);
    if (needsModule) slot.keys.add(request.key);
    if (request.meta.kind !== 'module') slot.keys.add(warmKeyOf(request));
    slot.worker.postMessage({ ...request, id, ...(needsModule ? { module } : {}) } satisfies ThreadRequest);
  }

  #idle(key: string): Slot | undefined {
    let any: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.busy) continue;
      if (slot.keys.has(key)) return slot;
      any ??= slot;
    }
    if (any) return any;
    if (this.#slots.size < this.#options.size) return this.#spawn();
    return undefined;
  }

  #spawn(): Slot {
    const worker = new Worker(THREAD_ENTRY, {
      resourceLimits: {
        maxOldGenerationSizeMb: this.#options.heapMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.floor(this.#options.heapMb / 4)),
        stackSizeMb: 4,
      },
      // The guest thread sees no environment of ours.
      env: {},
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const slot: Slot = { worker, busy: false, keys: new Set() };
    this.#slots.add(slot);
    worker.on('error', (error: Error & { code?: string }) => {
      slot.onDeath?.(error.message, error.code === 'ERR_WORKER_OUT_OF_MEMORY');
    });
    worker.on('exit', (code) => {
      slot.onDeath?.(`the guest thread exited (code ${code})`, false);
      if (this.#slots.delete(slot) && !this.#closed) this.#refill();
    });
    return slot;
  }

  #release(slot: Slot): void {
    slot.busy = false;
    if (!this.#slots.has(slot)) return;
    const job = this.#queue.shift();
    if (job) job(slot);
  }

  #retire(slot: Slot): void {
    this.#slots.delete(slot);
    void slot.worker.terminate();
    if (!this.#closed) this.#refill();
  }

  /** Replace a lost thread and hand it the next queued job. */
  #refill(): void {
    if (this.#slots.size >= this.#options.size) return;
    const slot = this.#spawn();
    const job = this.#queue.shift();
    if (job) job(slot);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#slots].map((s) => s.worker.terminate()));
    this.#slots.clear();
  }
}
