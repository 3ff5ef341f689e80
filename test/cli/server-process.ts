/** `strata serve` as a real process, for the start-up tests: spawn, read its lines, find its processes. */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import { removeCgroupParents as removeParents } from '../../src/resources/cgroup/remove-parents.ts';

// These suites spawn the real CLI and the real server: on a loaded two-core machine (load 40
// seen) one CLI start takes over 10 s and a server start over a minute. Limits are generous.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

export const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const MARK = 'SERVER_TEST_MARK';
let started = 0;
const PARENT_PREFIX = `strata-test-serve-${process.pid}-`;

/** Remove the cgroup parents these servers used, once they are gone (src/resources/cgroup/remove-parents.ts). */
export function removeCgroupParents(root = '/sys/fs/cgroup'): void {
  removeParents(PARENT_PREFIX, root);
}

export interface ServerProcess {
  child: ChildProcess;
  mark: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line `match` accepts (rejects if the process exits first). */
  line(match: (line: string) => boolean): Promise<string>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** The PIDs of live processes carrying `mark` in their environment (the server and its children). */
export function processesMarked(mark: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // A zombie is already dead (its parent has not reaped it yet).
      if (env.includes(`${MARK}=${mark}`) && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') found.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * `wrapper` is [program, ...args] to run node under (a pty wrapper); `command` the strata command
 * and its flags (`serve` by default; `dev ...` for a Master and a worker in one process).
 */
export function startServer(env: Record<string, string>, wrapper: string[] = [], command = ['serve']): ServerProcess {
  const mark = randomUUID();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  const argv = [...wrapper, process.execPath, '--disable-warning=ExperimentalWarning', MAIN, ...command];
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: {
      ...base,
      [MARK]: mark,
      STRATA_HOST: '127.0.0.1',
      STRATA_PORT: '0',
      STRATA_ISOLATE_HOSTS: '1',
      STRATA_WASM_HOSTS: '1',
      STRATA_DOCKER_AUTO_BUILD_IMAGES: 'false',
      STRATA_RESOURCES_CGROUP_PARENT: `${PARENT_PREFIX}${++started}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const watchers: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const line of out.split(/\r?\n/)) {
      for (const w of [...watchers]) {
        if (w.match(line)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    mark,
    stdout: () => out,
    stderr: () => err,
    exited,
    line: (match) =>
      new Promise((resolve, reject) => {
        watchers.push({ match, resolve });
        void exited.then((code) => reject(new Error(`server exited (${code}) first:\n${out}\n${err}`)));
        for (const line of out.split(/\r?\n/)) if (match(line)) resolve(line);
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The URL from the JSON "listening" line. */
export const listeningUrl = async (server: ServerProcess): Promise<string> => {
  const line = await server.line((l) => l.includes('strata worker listening'));
  return (JSON.parse(line) as { url: string }).url;
};
