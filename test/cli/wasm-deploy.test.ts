/** `strata fn deploy` of a .wasm file uploads it as multipart and the module runs in the WASM tier. */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWorker, type TestWorker } from '../gateway/support.ts';
import { strata } from './support.ts';

const ADD_WASM = fileURLToPath(new URL('../../udf-examples/wasm/wat-add/add.wasm', import.meta.url));

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker({}, { listen: true });
});
afterAll(async () => {
  await t?.close();
});

describe('strata fn deploy <file>.wasm', () => {
  it('uploads the module with --entry and invokes it', async () => {
    const url = t.worker.url;
    const deploy = await strata(['fn', 'deploy', ADD_WASM, '--name', 'add', '--entry', 'add', '--url', url, '--json']);
    // A deploy slow enough (a loaded machine) prints progress lines on stderr; nothing else.
    expect(deploy.stderr.replace(/^(still )?deploying add.*\n/gm, '')).toBe('');
    expect(deploy.code).toBe(0);
    expect(JSON.parse(deploy.stdout)).toMatchObject({ name: 'add', runtime: 'wasm', tier: 'wasm', entry: 'add' });

    const invoke = await strata(['fn', 'invoke', 'add', '--data', '[40, 2]', '--url', url, '--json']);
    expect(invoke.code).toBe(0);
    expect(JSON.parse(invoke.stdout)).toMatchObject({ status: 'succeeded', result: 42, tier: 'wasm' });
  });

  it('refuses a file that is not WebAssembly with a one-line error', async () => {
    const res = await strata([
      'fn',
      'deploy',
      fileURLToPath(import.meta.url).replace(/\.ts$/, '.ts'),
      '--name',
      'x',
      '--url',
      t.worker.url,
    ]);
    // A .ts file is not a runtime the CLI knows: it says so and exits non-zero.
    expect(res.code).not.toBe(0);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });
});
