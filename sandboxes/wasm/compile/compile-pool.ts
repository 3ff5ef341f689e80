/**
 * Runs deploy-time jobs (jobs.ts) off the serving thread, in one compile worker thread, one job
 * at a time, each within a time and a memory budget (wasm.compileTimeout, wasm.compileMemory):
 *
 * - time: a job still running at its budget has its thread terminated (V8 stops it even inside
 *   binaryen's wasm) and is refused with invalid_code naming the budget;
 * - memory: the thread's JS heap is capped by resourceLimits; its external memory (the linear
 *   memories of binaryen and jco's tools) is sampled while a job runs and checked again by the
 *   thread when it ends; over the budget the job is refused the same way.
 *
 * The thread is started on demand, replaced after a refusal or a large job (a wasm memory never
 * shrinks; a component or engine-cap job (jco) with nothing queued lets it go at once), and stopped
 * when idle (wasm.compileIdle), so an idle worker holds no compiler in memory.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { StrataError } from '../../../src/core/errors.ts';
import type { JobRequest, ThreadMessage } from './compile-thread.ts';
import type { CompileJob } from './jobs.ts';

const THREAD_ENTRY = new URL('./compile-thread.ts', import.meta.url);
const MIB = 1024 ** 2;
/**
 * Jobs that load jco's tools (their wasm memories never shrink: ~90 MB of RSS after a small
 * component): the thread is let go as soon as no job waits, instead of after idleMs.
 */
const HEAVY_JOBS: ReadonlySet<CompileJob['kind']> = new Set(['component', 'engine-cap']);

export interface CompilePoolOptions {
  /** Longest a job may run, ms. */
  timeoutMs: number;
  /** Most memory (JS heap + external) the compile thread may use for a job, bytes. */
  memoryBytes: number;
  /** Stop the thread after this long without work, ms. */
  idleMs?: number;
  /** How often the thread's memory is sampled while a job runs, ms. */
  sampleMs?: number;
  logger?: Logger | undefined;
}

interface Pending {
  request: JobRequest;
  queuedAt: number;
  onStep: (name: string, ms: number) => void;
  resolve: (meta: unknown) => void;
  reject: (error: Error) => void;
}

export class CompilePool {
  readonly #options: Required<Omit<CompilePoolOptions, 'logger'>> & { logger?: Logger | undefined };
  readonly #queue: Pending[] = [];
  #worker: Worker | undefined;
  /** The job in flight, and how to end it (from a timer, the sampler, a reply or a thread error). */
  #current:
    | { pending: Pending; finish: (error: Error | undefined, meta?: unknown, replace?: boolean) => void }
    | undefined;
  #nextId = 1;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;
  /** Threads started so far (tests, health). */
  started = 0;

  constructor(options: CompilePoolOptions) {
    this.#options = { idleMs: 30_000, sampleMs: 50, ...options };
  }

  /** Run `job` writing into `dir`; resolves with its meta, rejects with the job's StrataError. */
  run(job: CompileJob, dir: string, onStep: (name: string, ms: number) => void = () => {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(new StrataError('shutting_down', 'the wasm tier is shutting down'));
    return new Promise((resolve, reject) => {
      this.#queue.push({
        request: { id: this.#nextId++, job, dir },
        queuedAt: performance.now(),
        onStep,
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#current || this.#closed) return;
    const next = this.#queue.shift();
    if (!next) {
      this.#armIdle();
      return;
    }
    clearTimeout(this.#idle);
    const worker = this.#thread();
    const { timeoutMs, memoryBytes, sampleMs } = this.#options;
    let settled = false;
    const finish = (error: Error | undefined, meta?: unknown, replace = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(sampler);
      worker.off('message', onMessage);
      this.#current = undefined;
      if (replace) this.#drop(worker);
      if (error) next.reject(error);
      else next.resolve(meta);
      this.#pump();
    };
    this.#current = { pending: next, finish };
    const refuse = (message: string, budget: 'time' | 'memory') =>
      new StrataError('invalid_code', message, { section: 'budget', budget });
    // The budget counts the job's own work, from when the thread starts it (not the thread's start-up).
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(() => {
        finish(
          refuse(
            `compiling this upload took longer than the compile time budget of ${timeoutMs} ms (wasm.compileTimeout) and was stopped; upload a smaller module, or raise the budget`,
            'time',
          ),
          undefined,
          true,
        );
      }, timeoutMs);
    };
    // The thread checks its memory when the job ends; sampling catches a job that is still growing.
    const sampler = setInterval(() => {
      worker.getHeapStatistics().then(
        (heap) => {
          const used = heap.used_heap_size + heap.external_memory;
          if (used > memoryBytes) {
            finish(
              refuse(
                `compiling this upload needed more than ${Math.floor(memoryBytes / MIB)} MiB, the compile memory budget (wasm.compileMemory), and was stopped; upload a smaller module, or raise the budget`,
                'memory',
              ),
              undefined,
              true,
            );
          }
        },
        () => {},
      );
    }, sampleMs);
    const onMessage = (message: ThreadMessage) => {
      if (message.id !== next.request.id) return;
      if (message.type === 'begin') {
        // Waiting for other jobs and for the thread to start.
        next.onStep('queue', performance.now() - next.queuedAt);
        arm();
        return;
      }
      if (message.type === 'step') {
        next.onStep(message.name, message.ms);
        return;
      }
      // A job that grew the thread a lot leaves that memory behind: start afresh next time, and
      // do not keep a big thread around for a next job that may never come.
      const replace =
        message.memoryBytes > Math.min(memoryBytes / 2, 256 * MIB) ||
        (HEAVY_JOBS.has(next.request.job.kind) && this.#queue.length === 0);
      if (message.type === 'done') finish(undefined, message.meta, replace);
      else {
        const { code, message: text, details } = message.error;
        finish(new StrataError(code as StrataError['code'], text, details), undefined, replace || message.overBudget);
      }
    };
    worker.on('message', onMessage);
    worker.postMessage(next.request);
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const heapMb = Math.max(32, Math.floor(this.#options.memoryBytes / MIB));
    const worker = new Worker(THREAD_ENTRY, {
      workerData: { memoryBytes: this.#options.memoryBytes },
      resourceLimits: {
        maxOldGenerationSizeMb: heapMb,
        maxYoungGenerationSizeMb: Math.min(64, Math.max(8, Math.floor(heapMb / 8))),
        stackSizeMb: 8,
      },
      stdout: true,
      stderr: true,
    });
    this.started++;
    worker.stdout.on('data', (chunk: Buffer) => this.#options.logger?.debug(chunk.toString().trimEnd()));
    worker.stderr.on('data', (chunk: Buffer) => this.#options.logger?.warn(chunk.toString().trimEnd()));
    worker.on('error', (error: Error & { code?: string }) => {
      this.#drop(worker);
      this.#current?.finish(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new StrataError(
              'invalid_code',
              `compiling this upload ran out of the compile memory budget of ${Math.floor(this.#options.memoryBytes / MIB)} MiB (wasm.compileMemory); upload a smaller module, or raise the budget`,
              { section: 'budget', budget: 'memory' },
            )
          : new StrataError('internal', `the wasm compile thread failed: ${error.message}`),
      );
    });
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#current?.finish(new StrataError('internal', `the wasm compile thread exited (code ${code})`));
    });
    this.#worker = worker;
    return worker;
  }

  #drop(worker: Worker): void {
    if (this.#worker === worker) this.#worker = undefined;
    void worker.terminate();
  }

  #armIdle(): void {
    clearTimeout(this.#idle);
    if (!this.#worker) return;
    this.#idle = setTimeout(() => {
      if (!this.#current && this.#worker) this.#drop(this.#worker);
    }, this.#options.idleMs);
    this.#idle.unref();
  }

  /** Whether a compile thread is running now. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idle);
    const error = new StrataError('shutting_down', 'the wasm tier is shutting down');
    for (const job of this.#queue.splice(0)) job.reject(error);
    this.#current?.finish(error);
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }
}
