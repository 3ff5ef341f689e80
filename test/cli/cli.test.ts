/** The `strata` CLI against a worker listening on a loopback port in this process. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWorker, type TestWorker } from '../gateway/support.ts';
import { closedPort, strata } from './support.ts';

let t: TestWorker;
let dir: string;
let url: string;
beforeAll(async () => {
  t = await startTestWorker({}, { listen: true });
  url = t.worker.url;
  dir = mkdtempSync(join(tmpdir(), 'strata-cli-'));
  writeFileSync(
    join(dir, 'adder.js'),
    'export default function (input, ctx) { ctx.log("adding"); return { sum: input.a + input.b }; }\n',
  );
  writeFileSync(join(dir, 'input.json'), '{"a": 40, "b": 2}');
  writeFileSync(join(dir, 'thrower.js'), 'export default () => { throw new Error("nope"); }\n');
});
afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('strata fn / exec', () => {
  let executionId = '';

  it('deploys a file with --name --trust --memory --timeout (readable output)', async () => {
    const args = ['--name', 'adder', '--trust', 'trusted', '--memory', '64MiB', '--timeout', '2s', '--url', url];
    const res = await strata(['fn', 'deploy', join(dir, 'adder.js'), ...args]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('deployed a new version');
    expect(res.stdout).toMatch(/function:\s+adder v1/);
    expect(res.stdout).toMatch(/tier:\s+isolate/);
    expect(res.stdout).toContain('"timeoutMs":2000');
    expect(res.stdout).toContain('"memoryMb":64');

    const again = await strata(['fn', 'deploy', join(dir, 'adder.js'), ...args, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ name: 'adder', version: 1, created: false });
  });

  it('invokes with --data (readable) and --data-file (--json)', async () => {
    const res = await strata(['fn', 'invoke', 'adder', '--data', '{"a": 1, "b": 2}', '--url', url]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/status:\s+succeeded/);
    expect(res.stdout).toMatch(/result:\s+\{"sum":3\}/);
    expect(res.stdout).toContain('adding');

    const json = await strata([
      'fn',
      'invoke',
      'adder',
      '--data-file',
      join(dir, 'input.json'),
      '--url',
      url,
      '--json',
    ]);
    expect(json.code).toBe(0);
    const record = JSON.parse(json.stdout) as { id: string; status: string; result: unknown };
    expect(record).toMatchObject({ status: 'succeeded', result: { sum: 42 } });
    executionId = record.id;
  });

  it('finds the worker through STRATA_HOST and STRATA_PORT', async () => {
    const { hostname, port } = new URL(url);
    const res = await strata(['fn', 'invoke', 'adder', '--data', '{"a":2,"b":3}', '--json'], {
      STRATA_HOST: hostname,
      STRATA_PORT: port,
    });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).result).toEqual({ sum: 5 });
  });

  it('lists and gets functions, readable and as JSON', async () => {
    const list = await strata(['fn', 'list', '--url', url]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+VERSION\s+RUNTIME\s+TRUST\s+TIER/m);
    expect(list.stdout).toMatch(/^adder\s+1\s+js\s+trusted\s+isolate/m);
    const listJson = await strata(['fn', 'list', '--url', url, '--json']);
    expect((JSON.parse(listJson.stdout) as { functions: { name: string }[] }).functions.map((f) => f.name)).toContain(
      'adder',
    );

    const get = await strata(['fn', 'get', 'adder', '--url', url]);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/runtime:\s+js \(trusted\)/);
    const getJson = await strata(['fn', 'get', 'adder', '--url', url, '--json']);
    expect(JSON.parse(getJson.stdout)).toMatchObject({ name: 'adder', versions: [1], limits: { memoryMb: 64 } });
  });

  it('shows an execution record with exec get', async () => {
    expect(executionId).not.toBe('');
    const res = await strata(['exec', 'get', executionId, '--url', url]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`execution:\\s+${executionId}`));
    expect(res.stdout).toMatch(/function:\s+adder v1/);
    const json = await strata(['exec', 'get', executionId, '--url', url, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: executionId, result: { sum: 42 } });
  });

  it('exits 1 when the function fails, printing the record', async () => {
    expect((await strata(['fn', 'deploy', join(dir, 'thrower.js'), '--trust', 'trusted', '--url', url])).code).toBe(0);
    const res = await strata(['fn', 'invoke', 'thrower', '--url', url]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/status:\s+failed/);
    expect(res.stdout).toMatch(/error:\s+function_error: .*nope/);
  });

  it('fails with a non-zero exit and a one-line error', async () => {
    const oneLine = (stderr: string) => {
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^strata: /);
    };
    const unknown = await strata(['fn', 'invoke', 'nobody', '--url', url]);
    expect(unknown.code).not.toBe(0);
    oneLine(unknown.stderr);
    expect(unknown.stderr).toContain('not_found');
    expect(unknown.stdout).toBe('');

    const badData = await strata(['fn', 'invoke', 'adder', '--data', '{oops', '--url', url]);
    expect(badData.code).not.toBe(0);
    oneLine(badData.stderr);
    expect(badData.stderr).toContain('--data must be JSON');

    const port = await closedPort();
    const unreachable = await strata(['fn', 'list', '--url', `http://127.0.0.1:${port}`]);
    expect(unreachable.code).not.toBe(0);
    oneLine(unreachable.stderr);
    expect(unreachable.stderr).toContain(`cannot reach the worker at http://127.0.0.1:${port}`);

    const badManifest = await strata(['fn', 'deploy', join(dir, 'adder.js'), '--name', 'Bad_Name', '--url', url]);
    expect(badManifest.code).not.toBe(0);
    oneLine(badManifest.stderr);
    expect(badManifest.stderr).toContain('invalid_manifest');

    const badMemory = await strata(['fn', 'deploy', join(dir, 'adder.js'), '--memory', 'lots', '--url', url]);
    expect(badMemory.code).not.toBe(0);
    oneLine(badMemory.stderr);
    expect(badMemory.stderr).toContain('--memory');

    const usage = await strata(['fn', 'frobnicate']);
    expect(usage.code).toBe(2);
  });
});

describe('strata config', () => {
  it('prints the effective configuration as JSON, with env applied and units compiled', async () => {
    const res = await strata(['config'], { STRATA_PORT: '9191', STRATA_LIMITS_DEFAULT_TIMEOUT: '3s' });
    expect(res.code).toBe(0);
    const config = JSON.parse(res.stdout) as { port: number; limits: { default: { timeout: number } } };
    expect(config.port).toBe(9191);
    expect(config.limits.default.timeout).toBe(3000);
  });

  it('fails on a bad environment variable, naming it, in one line', async () => {
    const res = await strata(['config'], { STRATA_EXECUTOR_CONCURRENCY: 'lots' });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('STRATA_EXECUTOR_CONCURRENCY');
    expect(res.stderr).toContain('executor.concurrency');
  });
});
