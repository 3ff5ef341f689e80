/**
 * Every invocation is logged at info with its request id, function, status and duration,
 * whatever path it came by: an HTTP invoke (sync or async, by the CLI or curl) and a Master's
 * task. Run as a user runs it: `strata dev` (a Master and a worker in one process), its log
 * lines read from its stdout; the record names the version that ran and the alias it was
 * invoked through.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesMarked, removeCgroupParents, type ServerProcess, startServer } from './server-process.ts';
import { strata } from './support.ts';

type Entry = Record<string, unknown>;

let dir: string;
let dev: ServerProcess;
let worker: string;
let master: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-invocation-log-'));
  dev = startServer(
    { STRATA_DATA_DIR: dir, STRATA_LOG_FORMAT: 'json' },
    [],
    ['dev', '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0'],
  );
  const masterLine = JSON.parse(await dev.line((l) => l.includes('Strata Master listening'))) as { http: string };
  master = `http://${masterLine.http}`;
  worker = (JSON.parse(await dev.line((l) => l.includes('strata worker listening'))) as { url: string }).url;
  await dev.line((l) => l.includes('connected to the Master'));
}, 180_000);
afterAll(async () => {
  if (dev) {
    expect(await dev.stop()).toBe(0);
    expect(processesMarked(dev.mark)).toEqual([]);
  }
  rmSync(dir, { recursive: true, force: true });
  removeCgroupParents();
}, 60_000);

/** The `invocation` log line of one execution, once it is written. */
async function logged(executionId: string): Promise<Entry> {
  return JSON.parse(await dev.line((l) => l.includes('"invocation"') && l.includes(executionId))) as Entry;
}

const GREET = (word: string) => ({
  name: 'greet',
  runtime: 'js',
  trust: 'trusted',
  source: `export default (input) => ${JSON.stringify(word)} + ", " + input.name`,
});

describe('the invocation log line and the record', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    for (const word of ['hello', 'hi']) {
      const res = await fetch(`${worker}/v1/functions`, { method: 'POST', body: JSON.stringify(GREET(word)) });
      expect(res.status).toBe(201);
    }
    const alias = await fetch(`${worker}/v1/functions/greet/aliases/prod`, {
      method: 'PUT',
      body: JSON.stringify({ version: 1 }),
    });
    expect(alias.status).toBe(200);
  }, 60_000);

  it('an HTTP invoke of a bare name: request id, latest, status, duration', async () => {
    const res = await fetch(`${worker}/v1/functions/greet/invoke`, {
      method: 'POST',
      body: '{"name":"Ada"}',
      headers: { 'x-request-id': 'req-log-sync' },
    });
    const record = (await res.json()) as { id: string; function: Entry; result: string };
    expect(record).toMatchObject({ result: 'hi, Ada', function: { name: 'greet', version: 2, alias: 'latest' } });
    const line = await logged(record.id);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'invocation',
      requestId: 'req-log-sync',
      source: 'http',
      function: 'greet@2',
      alias: 'latest',
      status: 'succeeded',
      tier: 'isolate',
    });
    expect(typeof line.ms).toBe('number');
  });

  it('the CLI through an alias: the record and the output name it, so does the line', async () => {
    const res = await strata(['fn', 'invoke', 'greet@prod', '--data', '{"name":"Ada"}', '--url', worker, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const record = JSON.parse(res.stdout) as { id: string; function: Entry };
    expect(record).toMatchObject({ result: 'hello, Ada', function: { name: 'greet', version: 1, alias: 'prod' } });
    expect(await logged(record.id)).toMatchObject({ function: 'greet@1', alias: 'prod', status: 'succeeded' });
    const readable = await strata(['fn', 'invoke', 'greet@prod', '--data', '{"name":"Ada"}', '--url', worker]);
    expect(readable.stdout).toMatch(/^function:\s+greet v1 \(as @prod\)$/m);
  });

  it('a named version carries no alias', async () => {
    const res = await fetch(`${worker}/v1/functions/greet@1/invoke`, { method: 'POST', body: '{"name":"Ada"}' });
    const record = (await res.json()) as { id: string; function: Entry };
    expect(record.function).toEqual({ name: 'greet', version: 1, digest: expect.any(String) });
    const line = await logged(record.id);
    expect(line).toMatchObject({ function: 'greet@1', status: 'succeeded' });
    expect(line).not.toHaveProperty('alias');
    expect(typeof line.requestId).toBe('string');
  });

  it('an async invoke is logged when it ends, marked async; its stored record keeps the alias', async () => {
    const res = await fetch(`${worker}/v1/functions/greet@prod/invoke?async=1`, {
      method: 'POST',
      body: '{"name":"Bob"}',
      headers: { 'x-request-id': 'req-log-async' },
    });
    expect(res.status).toBe(202);
    const { executionId } = (await res.json()) as { executionId: string };
    expect(await logged(executionId)).toMatchObject({
      requestId: 'req-log-async',
      source: 'http',
      function: 'greet@1',
      alias: 'prod',
      status: 'succeeded',
      async: true,
    });
    const stored = (await (await fetch(`${worker}/v1/executions/${executionId}`)).json()) as { function: Entry };
    expect(stored.function).toMatchObject({ version: 1, alias: 'prod' });
  });

  it('a failed invocation is logged with its code', async () => {
    const res = await fetch(`${worker}/v1/functions/greet/invoke`, { method: 'POST', body: 'null' });
    const record = (await res.json()) as { id: string; status: string };
    expect(record.status).toBe('failed');
    expect(await logged(record.id)).toMatchObject({ status: 'failed', code: expect.any(String) });
  });

  it("a Master's task: its task id is the request id, source master", async () => {
    const fn = await fetch(`${master}/v1/functions`, {
      method: 'POST',
      body: JSON.stringify({
        name: 'double',
        runtime: 'js',
        trust: 'trusted',
        source: 'export default (i) => i.n * 2',
      }),
    });
    expect(fn.status).toBeLessThan(300);
    const task = await fetch(`${master}/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify({ function: 'double', input: { n: 21 } }),
    });
    expect(task.status).toBe(202);
    const { taskId } = (await task.json()) as { taskId: string };
    const line = JSON.parse(
      await dev.line((l) => l.includes('"invocation"') && l.includes(`"requestId":"${taskId}"`)),
    ) as Entry;
    expect(line).toMatchObject({ source: 'master', function: 'double@1', status: 'succeeded', tier: 'isolate' });
    expect(line).not.toHaveProperty('alias');
    expect(typeof line.ms).toBe('number');
  }, 60_000);
});
