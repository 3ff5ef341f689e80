/** Every JS and script example in udf-examples deploys and answers what its README says, through the CLI. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestWorker, type TestWorker } from '../gateway/support.ts';
import { describeIf } from '../support/requirements.ts';
import { strata } from './support.ts';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'udf-examples', 'js');

const CASES = [
  {
    file: 'hello.js',
    name: 'hello',
    data: '{"name":"Ada"}',
    result: { greeting: 'Hello, Ada!' },
    logs: 'greeting Ada',
  },
  { file: 'fibonacci.js', name: 'fibonacci', data: '{"n":90}', result: { n: 90, fibonacci: '2880067194370816120' } },
  {
    file: 'async-sleep.js',
    name: 'async-sleep',
    data: '{"values":[1,2,3]}',
    result: { count: 3, sum: 6, doubled: [2, 4, 6] },
    logs: 'awaited 3 promises',
  },
  {
    file: 'json-transform.js',
    name: 'json-transform',
    data: '{"orders":[{"customer":"ada","amount":30},{"customer":"bob","amount":5},{"customer":"ada","amount":12}]}',
    result: {
      customers: [
        { customer: 'ada', orders: 2, total: 42 },
        { customer: 'bob', orders: 1, total: 5 },
      ],
      total: 47,
    },
  },
];

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker({}, { listen: true });
});
afterAll(async () => {
  await t?.close();
});

it.each(CASES)('$file deploys and returns its documented result', async (example) => {
  const url = t.worker.url;
  const deploy = await strata([
    'fn',
    'deploy',
    join(EXAMPLES, example.file),
    '--name',
    example.name,
    '--trust',
    'trusted',
    '--url',
    url,
  ]);
  expect(deploy.stderr).toBe('');
  expect(deploy.code).toBe(0);
  const invoke = await strata(['fn', 'invoke', example.name, '--data', example.data, '--url', url, '--json']);
  expect(invoke.stderr).toBe('');
  expect(invoke.code).toBe(0);
  const record = JSON.parse(invoke.stdout) as { status: string; result: unknown; logs: string; tier: string };
  expect(record).toMatchObject({ status: 'succeeded', tier: 'isolate' });
  expect(record.result).toEqual(example.result);
  if (example.logs) expect(record.logs).toContain(example.logs);
});

it('fibonacci refuses a bad n with status failed', async () => {
  const url = t.worker.url;
  await strata([
    'fn',
    'deploy',
    join(EXAMPLES, 'fibonacci.js'),
    '--name',
    'fib-bad',
    '--trust',
    'trusted',
    '--url',
    url,
  ]);
  const res = await strata(['fn', 'invoke', 'fib-bad', '--data', '{"n":-1}', '--url', url, '--json']);
  expect(res.code).toBe(1);
  expect(JSON.parse(res.stdout)).toMatchObject({ status: 'failed', error: { code: 'function_error' } });
});

const SCRIPTS = join(import.meta.dirname, '..', '..', 'udf-examples', 'scripts');
const processTier = {
  ok: process.getuid?.() === 0 && existsSync('/usr/bin/bwrap'),
  reason: 'the process tier needs root and bubblewrap (/usr/bin/bwrap)',
};

describeIf(processTier, 'script examples (process tier)', () => {
  it.each([
    {
      file: 'word-count.sh',
      name: 'word-count',
      data: '{"text":"the quick brown fox"}',
      result: { words: 4 },
      logs: 'counting 19 bytes',
    },
    {
      file: 'stats.py',
      name: 'stats',
      data: '{"values":[3,1,4,1,5,9]}',
      result: { count: 6, mean: 23 / 6, min: 1, max: 9 },
      logs: 'got 6 values',
    },
  ])('$file deploys and returns its documented result', async (example) => {
    const url = t.worker.url;
    const deploy = await strata(['fn', 'deploy', join(SCRIPTS, example.file), '--name', example.name, '--url', url]);
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    const invoke = await strata(['fn', 'invoke', example.name, '--data', example.data, '--url', url, '--json']);
    expect(invoke.code).toBe(0);
    const record = JSON.parse(invoke.stdout) as { status: string; result: unknown; logs: string; tier: string };
    expect(record).toMatchObject({ status: 'succeeded', tier: 'process', result: example.result });
    expect(record.logs).toContain(example.logs);
  });
});
