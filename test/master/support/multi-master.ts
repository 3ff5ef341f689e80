/** Spawning Masters on one shared store (test/master/multi-master.test.ts, bench/). */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The function every test Master has deployed (the link tests' no-op, same digest everywhere). */
export const NOOP = {
  name: 'noop',
  runtime: 'js',
  trust: 'trusted',
  source: 'export default async (input) => input',
};

export interface ChildMaster {
  proc: ChildProcess;
  grpc: string;
  http: string;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
}

export async function spawnMaster(
  url: string,
  id: string,
  dataDir: string,
  heartbeatTimeout = '3s',
): Promise<ChildMaster> {
  const proc = spawn(process.execPath, [join(import.meta.dirname, 'master-child.ts'), url, id, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TEST_HEARTBEAT_TIMEOUT: heartbeatTimeout },
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const exited = once(proc, 'exit');
  const first = await Promise.race([
    once(lines, 'line').then(([l]) => l as string),
    exited.then(([code]) => {
      throw new Error(`master ${id} exited (${code}) before listening`);
    }),
  ]);
  const { grpc, http } = JSON.parse(first) as { grpc: string; http: string };
  return {
    proc,
    grpc,
    http,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
