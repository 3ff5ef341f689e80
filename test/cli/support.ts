/** Run the real `strata` CLI (node src/cli/main.ts) as a child process. */

import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { vi } from 'vitest';

// These suites spawn the real CLI and the real server: on a loaded two-core machine (load 40
// seen) one CLI start takes over 10 s and a server start over a minute. Limits are generous.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asynchronous on purpose: the worker it talks to runs in this process. */
export function strata(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  // The child sees no STRATA_* settings of ours, only what the test passes.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', MAIN, ...args],
      // Generous: on a loaded two-core machine one CLI start alone can take over 10 s.
      { env: { ...base, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
