/**
 * `strata serve` as a user runs it: a real process on a free port. SIGTERM lets an in-flight
 * invocation finish, then the worker exits 0 and leaves no sandbox host process behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '../../src/resources/cgroup/manager.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** PIDs whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** `strata serve` as a user starts it, on a free port, with one host per sandbox tier. */
function serve(dataDir: string): ChildProcess {
  return spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      ...process.env,
      STRATA_PORT: '0',
      STRATA_DATA_DIR: dataDir,
      STRATA_ISOLATE_HOSTS: '1',
      STRATA_WASM_HOSTS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitForUrl(child: ChildProcess): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${out}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before listening:\n${out}`)));
  });
}

describe('strata serve', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-shutdown-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    // A failed assertion must not leave the worker running.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes in-flight work on SIGTERM, exits 0 and leaves no host process', async () => {
    child = serve(dataDir);
    const worker = child;
    const url = await waitForUrl(worker);
    const hosts = childrenOf(worker.pid as number);
    expect(hosts.length).toBeGreaterThanOrEqual(1);
    expect(hosts.some((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('isolate host'))).toBe(true);

    const deploy = await fetch(`${url}/v1/functions`, {
      method: 'POST',
      body: JSON.stringify({
        name: 'slow',
        runtime: 'js',
        trust: 'trusted',
        // Busy for ~700 ms of wall time without timers (isolates have none).
        source: 'export default () => { const end = Date.now() + 700; while (Date.now() < end) {} return "done" }',
      }),
    });
    expect(deploy.status).toBe(201);
    const inflight = fetch(`${url}/v1/functions/slow/invoke`, { method: 'POST', body: '{}' }).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');

    const record = (await inflight) as { status: string; result: unknown };
    expect(record.status).toBe('succeeded');
    expect(record.result).toBe('done');
    expect(await exited).toBe(0);
    for (const pid of hosts) expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 60_000);
});

describe('a worker killed with SIGKILL', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-sigkill-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('takes its sandbox host processes with it', async () => {
    const child = serve(dataDir);
    try {
      await waitForUrl(child);
      const hosts = childrenOf(child.pid as number);
      expect(hosts.length).toBeGreaterThanOrEqual(2);
      child.kill('SIGKILL');
      // Hosts notice the closed IPC channel and exit on their own.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && hosts.some((pid) => existsSync(`/proc/${pid}`))) {
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const pid of hosts) expect(existsSync(`/proc/${pid}`)).toBe(false);
      // Its cgroups outlive it until the next worker starts and reaps them.
      const instance = `/sys/fs/cgroup/memory/strata/w${child.pid}`;
      const next = createCgroupManager();
      await next.start();
      expect(existsSync(instance)).toBe(false);
      await next.dispose();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
