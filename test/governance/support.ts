/** In-process workers and loopback servers for the governance suites. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startWorker, type Worker } from '../../src/cli/worker.ts';
import type { Resolver } from '../../src/net/destination-guard.ts';
import { requestJson, testWorkerConfig } from '../support/worker-config.ts';

export interface GovWorker {
  worker: Worker;
  dataDir: string;
  /** Every log line the worker wrote. */
  logText(): string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export async function startGovWorker(
  overrides: Record<string, unknown> = {},
  options: { resolve?: Resolver; listen?: boolean } = {},
): Promise<GovWorker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-gov-'));
  const config = testWorkerConfig('strata-gov', dataDir, overrides);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const worker = await startWorker(config, {
    listen: options.listen ?? false,
    logger: pino({ level: 'trace' }, sink),
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  return {
    worker,
    dataDir,
    logText: () => lines.join(''),
    call: (method, path, body, headers) => requestJson(worker, method, path, body, headers),
    close: async () => {
      await worker.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Upstream {
  url: string;
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
}

/** A loopback HTTP server answering with `handler` (after reading the body). */
export async function upstream(
  handler: (req: IncomingMessage & { body: string }, res: ServerResponse, n: number) => void,
): Promise<Upstream> {
  const state: Upstream = {
    url: '',
    port: 0,
    connections: 0,
    requests: [],
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(Object.assign(req, { body }), res, state.requests.length);
    });
  });
  server.on('connection', () => {
    state.connections++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

export const httpFn = (name: string, url: string, extra: Record<string, unknown> = {}) => ({
  name,
  runtime: 'http',
  url,
  ...extra,
});

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** Run the real `strata` CLI as a child process (generous timeout: CLI start-up is slow on a loaded machine). */
export function cli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], {
      env: { ...base, ...(options.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
