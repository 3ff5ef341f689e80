/**
 * A real worker in a child process (`node src/cli/main.ts serve`), so the load generator in the
 * bench process does not share the worker's event loop. Port 0 on 127.0.0.1, a temp data dir;
 * the URL comes from the "listening" log line. stop() sends SIGTERM, then SIGKILL by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeCgroupParents } from '../../src/resources/cgroup/remove-parents.ts';

export interface WorkerProcess {
  url: string;
  pid: number;
  dataDir: string;
  /** The last lines the worker wrote to stderr and stdout (for error messages). */
  tail(): string;
  stop(): Promise<void>;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

export async function startWorkerProcess(
  options: {
    env?: Record<string, string>;
    startTimeoutMs?: number;
    /** Use (and keep) this data dir, for a restart on the same one; default a temp dir removed at stop(). */
    dataDir?: string;
  } = {},
): Promise<WorkerProcess> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'strata-bench-worker-'));
  // mkdtemp makes it 0700; the process tier runs scripts as an unprivileged user that must
  // reach its work dir under the data dir.
  chmodSync(dataDir, 0o755);
  const parent = `strata-bench-worker-${process.pid}`;
  const child: ChildProcess = spawn(process.execPath, [join(root, 'src/cli/main.ts'), 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      STRATA_HOST: '127.0.0.1',
      STRATA_PORT: '0',
      STRATA_DATA_DIR: dataDir,
      STRATA_LOG_LEVEL: 'info',
      // Its own cgroup parent: a worker reaps every group under its parent that it does not
      // own, so workers sharing the default "strata" parent (tests running meanwhile) would
      // kill each other's sandbox hosts.
      STRATA_RESOURCES_CGROUP_PARENT: parent,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const remember = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stderr?.on('data', remember);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const tail = () => lines.slice(-20).join('\n');

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the worker did not start in time:\n${tail()}`)),
      options.startTimeoutMs ?? 60_000,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited during start-up (${code ?? signal}):\n${tail()}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      remember(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.includes('strata worker listening')) continue;
        try {
          const parsed = JSON.parse(line) as { url?: string };
          if (parsed.url) {
            clearTimeout(timer);
            resolve(parsed.url);
          }
        } catch {
          // A partial line; the next chunk completes it only in theory (pino writes whole lines).
        }
      }
    });
  }).catch(async (err: Error) => {
    child.kill('SIGKILL');
    await exited;
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    // A killed worker reaps nothing: its groups (and its hosts', once they exit) go here.
    removeCgroupParents(parent);
    throw err;
  });

  const health = await fetch(`${url}/healthz`);
  if (!health.ok) throw new Error(`/healthz answered ${health.status}`);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
      removeCgroupParents(parent);
    })();
    return stopped;
  };
  return { url, pid: child.pid as number, dataDir, tail, stop };
}
