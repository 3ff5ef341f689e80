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
    // A deploy slow enough (a loaded machine) prints progress lines on stderr; nothing else.
    expect(res.stderr.replace(/^(still )?deploying adder.*\n/gm, '')).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('deployed adder v1');
    expect(res.stdout).toMatch(/function:\s+adder v1/);
    expect(res.stdout).toMatch(/tier:\s+isolate/);
    expect(res.stdout).toContain('"timeoutMs":2000');
    expect(res.stdout).toContain('"memoryMb":64');

    // The CLIs below are independent of one another: they run at once (each start is the cost).
    const [again, readable] = await Promise.all([
      strata(['fn', 'deploy', join(dir, 'adder.js'), ...args, '--json']),
      strata(['fn', 'deploy', join(dir, 'adder.js'), ...args]),
    ]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ name: 'adder', version: 1, created: false });
    expect(readable.stdout).toContain('unchanged: adder v1 already runs this content');
  });

  it('invokes with --data (readable) and --data-file (--json)', async () => {
    const [res, json] = await Promise.all([
      strata(['fn', 'invoke', 'adder', '--data', '{"a": 1, "b": 2}', '--url', url]),
      strata(['fn', 'invoke', 'adder', '--data-file', join(dir, 'input.json'), '--url', url, '--json']),
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/status:\s+succeeded/);
    expect(res.stdout).toMatch(/result:\s+\{"sum":3\}/);
    expect(res.stdout).toContain('adding');

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
    const [list, listJson, get, getJson] = await Promise.all([
      strata(['fn', 'list', '--url', url]),
      strata(['fn', 'list', '--url', url, '--json']),
      strata(['fn', 'get', 'adder', '--url', url]),
      strata(['fn', 'get', 'adder', '--url', url, '--json']),
    ]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+VERSION\s+RUNTIME\s+TRUST\s+TIER/m);
    expect(list.stdout).toMatch(/^adder\s+1\s+js\s+trusted\s+isolate/m);
    expect((JSON.parse(listJson.stdout) as { functions: { name: string }[] }).functions.map((f) => f.name)).toContain(
      'adder',
    );

    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/runtime:\s+js \(trusted\)/);
    expect(JSON.parse(getJson.stdout)).toMatchObject({ name: 'adder', versions: [1], limits: { memoryMb: 64 } });
  });

  it('shows an execution record with exec get', async () => {
    expect(executionId).not.toBe('');
    const [res, json] = await Promise.all([
      strata(['exec', 'get', executionId, '--url', url]),
      strata(['exec', 'get', executionId, '--url', url, '--json']),
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`execution:\\s+${executionId}`));
    expect(res.stdout).toMatch(/function:\s+adder v1/);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: executionId, result: { sum: 42 } });
  });

  it('exits 1 when the function fails, printing the record', async () => {
    expect((await strata(['fn', 'deploy', join(dir, 'thrower.js'), '--trust', 'trusted', '--url', url])).code).toBe(0);
    const res = await strata(['fn', 'invoke', 'thrower', '--url', url]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/status:\s+failed/);
    expect(res.stdout).toMatch(/error:\s+function_error: .*nope/);
  });

  it('fails with a non-zero exit and a one-line error worded for the command line', async () => {
    const oneLine = (stderr: string) => {
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^strata/);
    };
    const port = await closedPort();
    const deploy = (...extra: string[]) => strata(['fn', 'deploy', join(dir, 'adder.js'), ...extra, '--url', url]);
    const [
      unknown,
      noVersion,
      noExecution,
      badData,
      unreachable,
      byPort,
      badManifest,
      badMemory,
      bareMemory,
      bareTimeout,
      usage,
    ] = await Promise.all([
      strata(['fn', 'invoke', 'nope', '--url', url]),
      strata(['fn', 'invoke', 'adder@9', '--url', url]),
      strata(['exec', 'get', 'no-such-id', '--url', url]),
      strata(['fn', 'invoke', 'adder', '--data', '{oops', '--url', url]),
      strata(['fn', 'list', '--url', `http://127.0.0.1:${port}`]),
      strata(['fn', 'list'], { STRATA_PORT: String(port) }),
      deploy('--name', 'Bad_Name'),
      deploy('--memory', 'lots'),
      deploy('--memory', '64'),
      deploy('--timeout', '2'),
      strata(['fn', 'frobnicate']),
    ]);
    expect(unknown.code).toBe(1);
    oneLine(unknown.stderr);
    expect(unknown.stderr).toContain('no function named nope — deploy it with `strata fn deploy`');
    expect(unknown.stderr).not.toMatch(/POST|\/v1\//);
    expect(unknown.stdout).toBe('');

    oneLine(noVersion.stderr);
    expect(noVersion.stderr).toContain('function adder has no version 9 — see its versions with `strata fn get adder`');

    oneLine(noExecution.stderr);
    expect(noExecution.stderr).toContain('no execution no-such-id');

    expect(badData.code).toBe(2);
    oneLine(badData.stderr);
    expect(badData.stderr).toContain('--data must be JSON');

    expect(unreachable.code).toBe(1);
    oneLine(unreachable.stderr);
    expect(unreachable.stderr).toContain(`no Strata worker at http://127.0.0.1:${port} — start one with \`npm start\``);
    expect(byPort.stderr).toContain(`no Strata worker at http://127.0.0.1:${port}`);

    expect(badManifest.code).toBe(1);
    oneLine(badManifest.stderr);
    expect(badManifest.stderr).toContain('name must match');

    expect(badMemory.code).toBe(2);
    oneLine(badMemory.stderr);
    expect(badMemory.stderr).toContain('--memory');

    expect(bareMemory.code).toBe(2);
    expect(bareMemory.stderr).toContain('--memory: 64 is ambiguous: write 64MiB');
    expect(bareTimeout.stderr).toContain('--timeout: 2 is ambiguous: write 2ms (or 2s');

    expect(usage.code).toBe(2);
    oneLine(usage.stderr);
    expect(usage.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('a worker that needs a token', () => {
  const TOKEN = 'cli-test-token-0123456789';
  let secured: TestWorker;
  beforeAll(async () => {
    secured = await startTestWorker({ apiTokens: [TOKEN] }, { listen: true });
  });
  afterAll(async () => {
    await secured?.close();
  });

  it('says how to pass one, and works with --token or STRATA_TOKEN', async () => {
    const at = ['fn', 'list', '--url', secured.worker.url];
    const [without, wrong, byFlag, byEnv] = await Promise.all([
      strata(at),
      strata([...at, '--token', 'not-the-right-token']),
      strata([...at, '--token', TOKEN]),
      strata(at, { STRATA_TOKEN: TOKEN }),
    ]);
    expect(without.code).toBe(1);
    expect(without.stderr.trim()).toBe('strata: this worker needs a token — pass `--token` or set STRATA_TOKEN');
    expect(wrong.stderr).toContain('this worker does not accept that token — check `--token` or STRATA_TOKEN');
    expect(byFlag.code).toBe(0);
    expect(byEnv.code).toBe(0);
  });
});

// Each case spawns its own CLIs against no worker: independent, so they run at once.
describe.concurrent('strata config', () => {
  it('prints the effective configuration as JSON, with env applied and values as people write them', async () => {
    const res = await strata(['config'], { STRATA_PORT: '9191', STRATA_LIMITS_DEFAULT_TIMEOUT: '3000ms' });
    expect(res.code).toBe(0);
    const config = JSON.parse(res.stdout) as { port: number; limits: { default: { timeout: string; memory: string } } };
    expect(config.port).toBe(9191);
    expect(config.limits.default.timeout).toBe('3s');
    expect(config.limits.default.memory).toBe('128MiB');
  });

  it('fails on a bad environment variable, naming it, in one line', async () => {
    const res = await strata(['config'], { STRATA_EXECUTOR_CONCURRENCY: 'lots' });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('STRATA_EXECUTOR_CONCURRENCY');
    expect(res.stderr).toContain('executor.concurrency');
  });

  it('--env prints every variable in the form it accepts, and never a secret', async () => {
    const secrets = {
      STRATA_API_TOKENS: 'secret-api-token-0001,secret-api-token-0002',
      STRATA_LINK_TOKEN: 'secret-link-token',
      STRATA_MASTER_TOKENS: 'secret-master-token',
      STRATA_CALLBACKS_SIGNING_KEY: 'secret-callback-key',
    };
    const res = await strata(['config', '--env'], { ...secrets, STRATA_EXECUTOR_RETRY_AFTER: '2500ms' });
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain('secret-');
    const lines = new Map(
      res.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    expect(lines.get('STRATA_API_TOKENS')).toBe('<set>');
    expect(lines.get('STRATA_LINK_TOKEN')).toBe('<set>');
    expect(lines.get('STRATA_MASTER_TOKENS')).toBe('<set>');
    expect(lines.get('STRATA_CALLBACKS_SIGNING_KEY')).toBe('<set>');
    expect(lines.get('STRATA_EXECUTOR_RETRY_AFTER')).toBe('2500ms');
    expect(lines.get('STRATA_LIMITS_DEFAULT_TIMEOUT')).toBe('5s');
    expect(lines.get('STRATA_BODY_LIMIT')).toBe('6MiB');
    expect(lines.get('STRATA_PROCESS_READ_ONLY_PATHS')).toBe(
      '/usr/bin,/usr/lib,/usr/lib64,/etc/ld.so.cache,/etc/alternatives',
    );
    expect(lines.get('STRATA_MASTERS')).toBe('');
    const json = await strata(['config'], secrets);
    expect(json.stdout).not.toContain('secret-');
  });

  it('a misspelt key, a bare number and a missing file each stop it in one line', async () => {
    const [typo, bare, missing] = await Promise.all([
      strata(['config'], { STRATA_EXECUTOR_CONCURENCY: '4' }),
      strata(['config'], { STRATA_LIMITS_DEFAULT_MEMORY: '64' }),
      strata(['config', '--config', join(dir, 'nope.yaml')]),
    ]);
    expect(typo.code).toBe(1);
    expect(typo.stderr.trim()).toBe(
      'strata: invalid configuration: STRATA_EXECUTOR_CONCURENCY is not a setting — did you mean STRATA_EXECUTOR_CONCURRENCY?',
    );
    expect(bare.stderr).toContain('64 is ambiguous: write 64MiB');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(
      `strata: no configuration file at ${join(dir, 'nope.yaml')} (given with --config)`,
    );
  });
});
