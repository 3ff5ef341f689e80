/**
 * The compile thread (a worker thread of the serving process, started by CompilePool): runs one
 * deploy-time job at a time (jobs.ts) and reports its steps, its meta or its error. After each
 * job it checks its own memory (JS heap + external memory, which holds the linear memories of
 * binaryen and jco's wasm tools) against the budget: over it, the job is refused and the thread
 * asks to be replaced, since a wasm memory never shrinks.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { isStrataError } from '../../../src/core/errors.ts';
import { type CompileJob, runJob } from './jobs.ts';

export interface JobRequest {
  id: number;
  job: CompileJob;
  dir: string;
}

export type ThreadMessage =
  | { type: 'begin'; id: number }
  | { type: 'step'; id: number; name: string; ms: number }
  | { type: 'done'; id: number; meta: unknown; memoryBytes: number }
  | {
      type: 'failed';
      id: number;
      error: { code: string; message: string; details?: Record<string, unknown> };
      memoryBytes: number;
      overBudget?: boolean;
    };

const { memoryBytes: budget } = workerData as { memoryBytes: number };

const used = (): number => {
  const heap = getHeapStatistics();
  return heap.used_heap_size + heap.external_memory;
};

parentPort?.on('message', (request: JobRequest) => {
  const { id } = request;
  const post = (message: ThreadMessage) => parentPort?.postMessage(message);
  post({ type: 'begin', id });
  runJob(request.job, request.dir, (name, ms) => post({ type: 'step', id, name, ms })).then(
    (meta) => {
      const memoryBytes = used();
      if (memoryBytes > budget) {
        post({ type: 'failed', id, error: overBudget(memoryBytes), memoryBytes, overBudget: true });
        return;
      }
      post({ type: 'done', id, meta, memoryBytes });
    },
    (error: unknown) => {
      const memoryBytes = used();
      if (memoryBytes > budget) {
        post({ type: 'failed', id, error: overBudget(memoryBytes), memoryBytes, overBudget: true });
        return;
      }
      post({
        type: 'failed',
        id,
        memoryBytes,
        error: isStrataError(error)
          ? { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) }
          : { code: 'invalid_code', message: error instanceof Error ? error.message : String(error) },
      });
    },
  );
});

function overBudget(bytes: number) {
  return {
    code: 'invalid_code',
    message: `compiling this upload needed ${Math.ceil(bytes / 1024 ** 2)} MiB, over the compile memory budget of ${Math.floor(budget / 1024 ** 2)} MiB (wasm.compileMemory); upload a smaller module, or raise the budget`,
    details: { section: 'budget', budget: 'memory' },
  };
}
