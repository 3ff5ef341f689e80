/** `npm run master` contract: STRATA_MASTER_GRPC / STRATA_MASTER_HTTP / STRATA_DATA_DIR, stops on SIGTERM. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runDevCommand } from '../../src/cli/commands/dev.ts';
import { parseMasterFlags } from '../../src/cli/commands/master.ts';
import { removeTempDirs, tempDir } from '../link/support/harness.ts';

afterEach(() => removeTempDirs());

const ENTRY = join(import.meta.dirname, '..', '..', 'src', 'cli', 'commands', 'master.ts');

/** `strata master` in a child process (gRPC on a free loopback port), with these variables. */
function spawnMaster(env: Record<string, string>, stderr: 'inherit' | 'pipe') {
  return spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(ENTRY)}); process.exitCode = await m.runMasterCommand([]);`,
    ],
    { env: { ...process.env, STRATA_MASTER_GRPC: '127.0.0.1:0', ...env }, stdio: ['ignore', 'pipe', stderr] },
  );
}

describe('strata master', () => {
  it('parses its flags', () => {
    expect(parseMasterFlags(['--grpc', '127.0.0.1:1', '--http=127.0.0.1:2', '--data-dir', '/x'])).toEqual({
      'master.grpc': '127.0.0.1:1',
      'master.http': '127.0.0.1:2',
      dataDir: '/x',
    });
    expect(parseMasterFlags(['--help'])).toBe('help');
    expect(() => parseMasterFlags(['--bogus'])).toThrow(/unknown option/);
  });

  it('serves gRPC and HTTP on the addresses from the environment and keeps data in STRATA_DATA_DIR', async () => {
    const dataDir = tempDir('strata-master-cmd-');
    const child = spawnMaster(
      { STRATA_MASTER_HTTP: '127.0.0.1:0', STRATA_DATA_DIR: dataDir, STRATA_LOG_LEVEL: 'info' },
      'inherit',
    );
    let out = '';
    const ready = await new Promise<{ grpc: string; http: string }>((resolve, reject) => {
      child.stdout?.on('data', (d) => {
        out += String(d);
        for (const line of out.split('\n')) {
          if (!line.includes('Strata Master listening')) continue;
          resolve(JSON.parse(line) as { grpc: string; http: string });
        }
      });
      child.once('exit', (code) => reject(new Error(`master exited early (${code}): ${out}`)));
    });
    try {
      expect(ready.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
      const base = `http://${ready.http}`;
      expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok' });
      const dep = await fetch(`${base}/v1/functions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'hello', runtime: 'js', trust: 'trusted', source: 'export default () => 1' }),
      });
      expect(dep.status).toBe(201);
      const sub = await fetch(`${base}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ function: 'hello', input: {} }),
      });
      expect(sub.status).toBe(202);
      const { taskId } = (await sub.json()) as { taskId: string };
      expect(await (await fetch(`${base}/v1/tasks/${taskId}`)).json()).toMatchObject({ taskId, status: 'pending' });
      expect(await (await fetch(`${base}/v1/workers`)).json()).toEqual([]);
      expect(existsSync(join(dataDir, 'master', 'master.db'))).toBe(true);
    } finally {
      const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('refuses to serve its HTTP API beyond loopback without keys, and says how to fix it', async () => {
    const child = spawnMaster(
      {
        STRATA_MASTER_HTTP: '0.0.0.0:0',
        STRATA_DATA_DIR: tempDir('strata-master-open-'),
        STRATA_ADMIN_TOKEN: '',
        STRATA_API_TOKENS: '',
      },
      'pipe',
    );
    let err = '';
    child.stderr?.on('data', (d) => {
      err += String(d);
    });
    const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    expect(code).toBe(1);
    expect(err).toContain('refusing to serve the Master API on 0.0.0.0 without API keys');
    expect(err).toContain('STRATA_ADMIN_TOKEN');
  });

  it('strata dev starts a Master and points the worker at it through STRATA_MASTERS', async () => {
    const saved = { masters: process.env.STRATA_MASTERS, dataDir: process.env.STRATA_DATA_DIR };
    const dataDir = tempDir('strata-dev-');
    let seen: string | undefined;
    try {
      const code = await runDevCommand(['--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data-dir', dataDir], {
        serve: async () => {
          seen = process.env.STRATA_MASTERS;
          return 0;
        },
      });
      expect(code).toBe(0);
      expect(seen).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(existsSync(join(dataDir, 'master', 'master.db'))).toBe(true);
    } finally {
      for (const [k, v] of [
        ['STRATA_MASTERS', saved.masters],
        ['STRATA_DATA_DIR', saved.dataDir],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
