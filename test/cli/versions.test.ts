/** Versions through the CLI: redeploying old code runs it, NAME@3 and NAME@alias, promote, rollback, aliases. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWorker, type TestWorker } from '../gateway/support.ts';
import { strata } from './support.ts';

let t: TestWorker;
let dir: string;
let url: string;
beforeAll(async () => {
  t = await startTestWorker({}, { listen: true });
  url = t.worker.url;
  dir = mkdtempSync(join(tmpdir(), 'strata-cli-versions-'));
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const deployCode = async (text: string) => {
  const path = join(dir, 'greet.js');
  writeFileSync(path, `export default () => ${JSON.stringify(text)}`);
  return strata(['fn', 'deploy', path, '--trust', 'trusted', '--url', url]);
};
const run = async (ref: string) => {
  const res = await strata(['fn', 'invoke', ref, '--url', url, '--json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as { result: string; function: { version: number } };
};

describe('strata fn versions', () => {
  it('the latest deploy is what runs, even when it repeats an older version', async () => {
    expect((await deployCode('one')).stdout).toContain('deployed greet v1');
    expect((await deployCode('two')).stdout).toContain('deployed greet v2');
    const back = await deployCode('one');
    expect(back.stdout).toContain('deployed greet v3 (the content of v1); it runs now');
    expect(await run('greet')).toMatchObject({ result: 'one', function: { version: 3 } });
    expect((await deployCode('one')).stdout).toContain('unchanged: greet v3 already runs this content');
  });

  it('runs a version as NAME@N or --version N', async () => {
    expect(await run('greet@2')).toMatchObject({ result: 'two', function: { version: 2 } });
    const res = await strata(['fn', 'invoke', 'greet', '--version', '1', '--url', url]);
    expect(res.stdout).toMatch(/function:\s+greet v1/);
    expect(res.stdout).toMatch(/result:\s+"one"/);
  });

  it('rollback steps back one version; promote picks one', async () => {
    const rolled = await strata(['fn', 'rollback', 'greet', '--url', url]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout.trim()).toBe('greet@latest -> v2 (was v3)');
    expect(await run('greet')).toMatchObject({ result: 'two', function: { version: 2 } });
    const promoted = await strata(['fn', 'promote', 'greet', '3', '--url', url]);
    expect(promoted.stdout.trim()).toBe('greet@latest -> v3 (was v2)');
    expect(await run('greet')).toMatchObject({ function: { version: 3 } });
  });

  it('aliases: promote --alias, NAME@alias, fn aliases, fn get', async () => {
    const set = await strata(['fn', 'promote', 'greet', '2', '--alias', 'prod', '--url', url]);
    expect(set.stdout.trim()).toBe('greet@prod -> v2 (new alias)');
    expect(await run('greet@prod')).toMatchObject({ result: 'two', function: { version: 2 } });
    const list = await strata(['fn', 'aliases', 'greet', '--url', url]);
    expect(list.stdout).toMatch(/^ALIAS\s+VERSION\s+UPDATEDAT/m);
    expect(list.stdout).toMatch(/^latest\s+3/m);
    expect(list.stdout).toMatch(/^prod\s+2/m);
    const get = await strata(['fn', 'get', 'greet', '--url', url]);
    expect(get.stdout).toMatch(/aliases:\s+latest=v3 prod=v2/);
    expect(get.stdout).toMatch(/versions:\s+1, 2, 3/);
    const back = await strata(['fn', 'rollback', 'greet', '--alias', 'prod', '--url', url]);
    expect(back.stdout.trim()).toBe('greet@prod -> v1 (was v2)');
  });

  it('says what is wrong in CLI words', async () => {
    const noAlias = await strata(['fn', 'invoke', 'greet@canary', '--url', url]);
    expect(noAlias.code).toBe(1);
    expect(noAlias.stderr.trim()).toBe(
      'strata: function greet has no alias canary — set it with `strata fn promote greet VERSION --alias canary`',
    );
    const noVersion = await strata(['fn', 'promote', 'greet', '9', '--url', url]);
    expect(noVersion.stderr.trim()).toBe(
      'strata: function greet has no version 9 — see its versions with `strata fn get greet`',
    );
    const noFunction = await strata(['fn', 'rollback', 'nobody', '--url', url]);
    expect(noFunction.stderr.trim()).toBe('strata: no function named nobody — deploy it with `strata fn deploy`');
    const badVersion = await strata(['fn', 'promote', 'greet', 'three', '--url', url]);
    expect(badVersion.code).toBe(2);
    await strata(['fn', 'promote', 'greet', '1', '--url', url]);
    const past = await strata(['fn', 'rollback', 'greet', '--url', url]);
    expect(past.code).toBe(1);
    expect(past.stderr.trim()).toBe('strata: greet@latest runs version 1, and there is no older version');
  });
});
