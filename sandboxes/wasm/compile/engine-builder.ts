/**
 * Builds a JS engine component in a child process (engine-build-main.ts), bounded in time, with
 * its scratch files in a private directory that is removed whatever happens. Engines are built
 * from Strata's own wrapper, never from user code, once per engine version (cached by engineKey).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../../../src/core/errors.ts';
import type { JsEngine } from '../js-engine/build-engine.ts';

const ENTRY = fileURLToPath(new URL('./engine-build-main.ts', import.meta.url));

export interface EngineBuildOptions {
  /** Where the scratch directory goes (the cache root, so a crash leaves it to the sweep). */
  scratchRoot: string;
  timeoutMs: number;
  onStep?: (name: string, ms: number) => void;
  /** Hears the child's pid once it is started (to change its priority). */
  onSpawn?: (pid: number) => void;
  signal?: AbortSignal;
}

export async function buildEngineInChild(engine: JsEngine, dir: string, options: EngineBuildOptions): Promise<void> {
  // A `.tmp` name: the cache's sweep removes it if this process dies before it does.
  const tmp = join(options.scratchRoot, `.engine-${engine}-${randomBytes(6).toString('hex')}.tmp`);
  await mkdir(tmp, { recursive: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const child = fork(ENTRY, [engine, dir], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        execArgv: ['--disable-warning=ExperimentalWarning'],
        env: { ...process.env, TMPDIR: tmp },
      });
      if (child.pid !== undefined) options.onSpawn?.(child.pid);
      let stderr = '';
      child.stdout?.resume();
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      child.on('message', (m: { step?: unknown; ms?: unknown }) => {
        if (typeof m?.step === 'string' && typeof m.ms === 'number') options.onStep?.(m.step, m.ms);
      });
      const stop = (why: string) => {
        child.kill('SIGKILL');
        reject(new StrataError('internal', why));
      };
      const timer = setTimeout(
        () => stop(`building the ${engine} JS engine took longer than ${options.timeoutMs} ms and was stopped`),
        options.timeoutMs,
      );
      const onAbort = () => stop(`building the ${engine} JS engine was cancelled`);
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (code === 0) resolve();
        else
          reject(
            new StrataError(
              'internal',
              `building the ${engine} JS engine failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' ')}`,
            ),
          );
      });
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
