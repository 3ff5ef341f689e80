/**
 * Cloudflare's workerd (the `workerd` npm package) as a benchmark peer: the same add function
 * as the Strata rows (`{n}` in, `{doubled: n * 2}` out, JSON both ways) as an ES module worker,
 * a capnp config in a temp dir, served on 127.0.0.1 on a free port, started as a child process
 * and stopped by its PID. The binary comes from node_modules (STRATA_BENCH_WORKERD overrides it,
 * for a machine where the package is installed elsewhere).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The worker module: the same work as JS_SOURCE (parse the JSON body, answer `{doubled}` as JSON). */
export const WORKERD_MODULE = `export default {
  async fetch(request) {
    const input = await request.json();
    return new Response(JSON.stringify({ doubled: input.n * 2 }), {
      headers: { 'content-type': 'application/json' },
    });
  },
};
`;

const config = (port: number) => `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .add)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const add :Workerd.Worker = (
  modules = [(name = "add.js", esModule = embed "add.js")],
  compatibilityDate = "2024-09-23",
);
`;

export interface WorkerdProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The workerd binary, or why there is none. */
export function workerdBinary(): { path: string } | { missing: string } {
  const fromEnv = process.env.STRATA_BENCH_WORKERD;
  if (fromEnv)
    return existsSync(fromEnv) ? { path: fromEnv } : { missing: `STRATA_BENCH_WORKERD=${fromEnv} not found` };
  try {
    const path = (createRequire(import.meta.url)('workerd') as { default: string }).default;
    return existsSync(path) ? { path } : { missing: `the workerd package names ${path}, which is absent` };
  } catch (err) {
    return { missing: `the workerd package is not installed (${(err as Error).message.split('\n')[0]})` };
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

export async function startWorkerd(binary: string, startTimeoutMs = 20_000): Promise<WorkerdProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-workerd-'));
  const port = await freePort();
  writeFileSync(join(dir, 'add.js'), WORKERD_MODULE);
  writeFileSync(join(dir, 'config.capnp'), config(port));
  const child: ChildProcess = spawn(binary, ['serve', join(dir, 'config.capnp')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  // Ready when it answers; poll until then (or until it exits).
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`workerd exited during start-up: ${spawnError?.message ?? stderr.trim().slice(-500)}`);
    }
    try {
      const res = await fetch(url, { method: 'POST', body: '{"n":1}' });
      if (res.ok && (await res.text()).includes('"doubled":2')) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`workerd did not answer within ${startTimeoutMs} ms: ${stderr.trim().slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, pid: child.pid as number, stop };
}
