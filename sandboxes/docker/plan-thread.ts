/**
 * Works out the runner image names off the main event loop: planning reads the host's binaries
 * and runs `ldd` synchronously (seconds on a cold cache), which would stall HTTP in the worker.
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { expectedRunnerImages } from './images.ts';
import type { RunnerKind } from './rootfs-plan.ts';

/** The names expectedRunnerImages() gives, computed in a worker thread. */
export function expectedRunnerImagesAsync(): Promise<Record<RunnerKind, string>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url));
    worker.once('message', (names: Record<RunnerKind, string>) => {
      resolve(names);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the image planning thread exited with code ${code}`));
    });
  });
}

if (!isMainThread) parentPort?.postMessage(expectedRunnerImages());
