/**
 * What a person at a terminal sees (run on a pseudo-terminal): `strata serve` prints a short
 * summary (address, data dir, tiers and why some are down, a first function) and readable logs;
 * a deploy that takes long shows a spinner on a terminal and plain lines in a pipe, then where
 * the time went when the answer says (`compile`).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN, processesMarked, removeCgroupParents, startServer } from './server-process.ts';

const PTY = ['python3', join(import.meta.dirname, 'pty-run.py')];
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  removeCgroupParents();
});

describe('strata serve in a terminal', () => {
  it('prints a summary and readable logs', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strata-tty-'));
    dirs.push(dataDir);
    const server = startServer({ STRATA_DATA_DIR: dataDir, STRATA_PORT: '0', NO_COLOR: '1' }, PTY);
    try {
      await server.line((l) => l.includes('A first function'));
      await server.line((l) => l.includes('Stop with Ctrl-C'));
      const out = server.stdout();
      expect(out).toMatch(/Strata worker \d+\.\d+\.\d+ listening on http:\/\/127\.0\.0\.1:\d+/);
      expect(out).toContain(`data      ${dataDir}`);
      expect(out).toMatch(/✓ isolate/);
      // Every tier is listed, up or with the reason it is not.
      for (const tier of ['isolate', 'wasm', 'process', 'docker']) expect(out).toMatch(new RegExp(`[✓✗] ${tier}`));
      expect(out).toMatch(/fn deploy udf-examples\/js\/hello\.js --url http:\/\/127\.0\.0\.1:\d+/);
      expect(out).not.toContain('{"level"');
      expect(out).toMatch(/Z INFO {2}strata worker listening/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(processesMarked(server.mark)).toEqual([]);
  }, 300_000);
});

/** A stand-in worker whose deploy answer waits until `release()`; answers with a `compile` report. */
async function slowWorker() {
  let release: () => void = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      void released.then(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            name: 'slow',
            version: 1,
            runtime: 'js',
            trust: 'standard',
            tier: 'wasm',
            digest: 'd'.repeat(64),
            created: true,
            createdAt: new Date().toISOString(),
            compile: {
              cached: false,
              ms: 4200,
              steps: [
                { name: 'componentize', ms: 3900 },
                { name: 'optimize', ms: 250 },
              ],
            },
          }),
        );
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, release, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const HELLO = join(import.meta.dirname, '..', '..', 'udf-examples', 'js', 'hello.js');

/** Run `strata fn deploy` (optionally on a pty), calling `onOutput` with all output so far as it grows. */
function deploy(url: string, tty: boolean, onOutput: (all: string) => void) {
  const argv = [process.execPath, '--disable-warning=ExperimentalWarning', MAIN, 'fn', 'deploy', HELLO, '--url', url];
  const [cmd, ...args] = tty ? [...PTY, ...argv] : argv;
  const child = spawn(cmd as string, args, {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    onOutput(out + err);
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d;
    onOutput(out + err);
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout: out, stderr: err })),
  );
}

describe('a long deploy', () => {
  it('shows a spinner on a terminal, erased at the end, and where the time went', async () => {
    const worker = await slowWorker();
    try {
      const result = await deploy(worker.url, true, (all) => {
        if (/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] deploying hello \(\d+\.\d s\)/.test(all)) worker.release();
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('\r\x1b[K');
      expect(result.stdout).toMatch(/deployed slow v1/);
      expect(result.stdout).toMatch(/compile:\s+4\.2 s — componentize 3\.9 s, optimize 250 ms/);
    } finally {
      await worker.close();
    }
  }, 300_000);

  it('prints plain progress lines when not on a terminal, on stderr', async () => {
    const worker = await slowWorker();
    try {
      const result = await deploy(worker.url, false, (all) => {
        if (all.includes('deploying hello…\n')) worker.release();
      });
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/^deploying hello…\n/);
      expect(result.stderr).not.toContain('\r');
      expect(result.stdout).toMatch(/compile:\s+4\.2 s/);
    } finally {
      await worker.close();
    }
  }, 300_000);

  it('says nothing extra for a quick deploy with --json', async () => {
    const worker = await slowWorker();
    worker.release();
    try {
      const out = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [MAIN, 'fn', 'deploy', HELLO, '--url', worker.url, '--json'], (_e, stdout, stderr) =>
          resolve({ stdout, stderr }),
        ),
      );
      expect(out.stderr).toBe('');
      expect(JSON.parse(out.stdout)).toMatchObject({ name: 'slow', compile: { ms: 4200 } });
    } finally {
      await worker.close();
    }
  });
});
