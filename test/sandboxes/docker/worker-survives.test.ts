/**
 * Issue 16 item 1 at the level it was found: `strata serve` as a user runs it, an untrusted JS
 * function deployed over HTTP that writes raw protocol frames (a null frame, a log frame with
 * numeric data, a forged result) to its stdout and to its runner channel. The worker process
 * must stay up and keep serving, the attacked invocations end as log text or
 * killed/protocol_violation, a following invocation works, and shutdown leaves no container.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf } from '../../support/requirements.ts';
import { lockDaemon, SUITE_START_MS, unlockDaemon } from './daemon-lock.ts';
import { dockerRequirement, labelledContainers, uniqueWorkerId } from './helpers.ts';

const MAIN = new URL('../../../src/cli/main.ts', import.meta.url).pathname;

const ATTACKER = `
const fs = process.getBuiltinModule('node:fs');
const frame = (value) => {
  const body = Buffer.from(JSON.stringify(value));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
};
export default async (input, ctx) => {
  const fd = input.fd;
  fs.writeSync(fd, frame(null));
  fs.writeSync(fd, frame({ t: 'log', id: ctx.executionId, stream: 'stdout', data: 42 }));
  fs.writeSync(fd, frame({ t: 'result', id: ctx.executionId, ok: true, json: '"forged"' }));
  await new Promise((r) => setTimeout(r, 2000));
  return 'real';
};`;

describeIf(dockerRequirement(), 'a worker under protocol attack from a docker-tier function', () => {
  const workerId = uniqueWorkerId('survive');
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-survive-'));
  let worker: ChildProcess | undefined;
  let url = '';
  let stderr = '';

  beforeAll(async () => {
    await lockDaemon();
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
    worker = spawn(process.execPath, [MAIN, 'serve'], {
      env: {
        ...base,
        STRATA_PORT: '0',
        STRATA_DATA_DIR: dataDir,
        STRATA_ISOLATE_HOSTS: '1',
        STRATA_WASM_HOSTS: '1',
        STRATA_DOCKER_WORKER_ID: workerId,
        STRATA_DOCKER_POOL_MIN: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8000);
    });
    const child = worker;
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (match) resolve(match[1] as string);
      });
      child.once('exit', (code) =>
        reject(new Error(`the worker exited (${code}) before listening:\n${out}\n${stderr}`)),
      );
    });
  }, SUITE_START_MS);

  afterAll(async () => {
    try {
      if (worker && worker.exitCode === null && worker.signalCode === null) {
        const exited = new Promise((resolve) => worker?.once('exit', resolve));
        worker.kill('SIGTERM');
        await exited;
      }
      expect(labelledContainers(workerId)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      unlockDaemon();
    }
  }, 60_000);

  const invoke = async (name: string, input: unknown) => {
    const response = await fetch(`${url}/v1/functions/${name}/invoke`, { method: 'POST', body: JSON.stringify(input) });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      status: string;
      result?: unknown;
      error?: { code: string };
      logs: string;
      tier: string;
    };
  };

  it('keeps serving: raw frames on stdout are log text, frames on the runner channel a protocol violation', async () => {
    const deploy = await fetch(`${url}/v1/functions`, {
      method: 'POST',
      body: JSON.stringify({ name: 'attacker', runtime: 'js', trust: 'untrusted', source: ATTACKER }),
    });
    expect(deploy.status).toBe(201);

    const onStdout = await invoke('attacker', { fd: 1 });
    expect(onStdout).toMatchObject({ tier: 'docker', status: 'succeeded', result: 'real' });
    expect(onStdout.logs).toContain('"data":42');

    const onChannel = await invoke('attacker', { fd: 4 });
    expect(onChannel).toMatchObject({ tier: 'docker', status: 'killed', error: { code: 'protocol_violation' } });

    expect(worker?.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const after = await invoke('attacker', { fd: 2 });
    expect(after).toMatchObject({ status: 'succeeded', result: 'real' });
    expect(worker?.exitCode).toBeNull();
  }, 120_000);
});
