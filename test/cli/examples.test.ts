/**
 * Every entry of udf-examples/README.md deploys with its one documented command and answers the
 * documented result, through the real CLI; every example in the folder is in that table; the
 * build scripts use the project's Node and never overwrite a tracked file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestWorker, type TestWorker } from '../gateway/support.ts';
import { describeIf } from '../support/requirements.ts';
import { strata } from './support.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLES = join(ROOT, 'udf-examples');
const README = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');

/** Shell words of a documented command (plain words and '...' strings). */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? (m[2] as string));
  return out;
}

interface Row {
  example: string;
  tier: string;
  deploy: string[];
  invoke: string[];
  result: unknown;
}

/** The example table: `npm run strata -- ` dropped, so the rest is argv for the CLI. */
const ROWS: Row[] = README.split('\n')
  .filter((l) => l.startsWith('| [') && l.includes('npm run strata'))
  .map((line) => {
    const cells = line
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim());
    const code = (cell: string) => cell.replace(/^`|`$/g, '');
    const cli = (cell: string) => words(code(cell)).slice(4);
    return {
      example: /\[([^\]]+)\]/.exec(cells[0] as string)?.[1] as string,
      tier: cells[2] as string,
      deploy: cli(cells[3] as string),
      invoke: cli(cells[4] as string),
      result: JSON.parse(code(cells[5] as string)),
    };
  });

const processTier = {
  ok: process.getuid?.() === 0 && existsSync('/usr/bin/bwrap'),
  reason: 'the process tier needs root and bubblewrap (/usr/bin/bwrap)',
};
const needsProcess = (row: Row) => row.tier.startsWith('process');

let t: TestWorker;
beforeAll(async () => {
  // The JS engines (standard JS, components) come from the run's shared engine cache.
  t = await startTestWorker({ 'wasm.engineCacheDir': inject('wasmEngineCache') }, { listen: true });
}, 300_000);
afterAll(async () => {
  await t?.close();
});

async function runRow(row: Row) {
  // The commands run from the repository root, as the README says.
  const deploy = await strata([
    ...row.deploy.map((w) => w.replace(/^udf-examples\//, `${EXAMPLES}/`)),
    '--url',
    t.worker.url,
  ]);
  expect(deploy.code, deploy.stderr).toBe(0);
  expect(deploy.stdout).toMatch(/deployed \S+ v\d+/);
  const invoke = await strata([...row.invoke, '--url', t.worker.url, '--json']);
  expect(invoke.code, invoke.stderr || invoke.stdout).toBe(0);
  const record = JSON.parse(invoke.stdout) as { status: string; result: unknown; tier: string };
  expect(record.status).toBe('succeeded');
  expect(record.result).toEqual(row.result);
  // "runs in" says where: its first word is the tier.
  expect(record.tier).toBe(row.tier.split(' ')[0]);
}

describe('udf-examples/README.md', () => {
  it('has a row for every example there is', () => {
    const listed = new Set(ROWS.map((r) => r.example.replace(/\/$/, '')));
    expect(listed.size).toBe(ROWS.length);
    const present: string[] = [];
    for (const kind of ['js', 'scripts']) {
      for (const f of readdirSync(join(EXAMPLES, kind))) if (!f.endsWith('.md')) present.push(`${kind}/${f}`);
    }
    for (const kind of ['wasm', 'component']) {
      for (const d of readdirSync(join(EXAMPLES, kind))) {
        if (statSync(join(EXAMPLES, kind, d)).isDirectory()) present.push(`${kind}/${d}`);
      }
    }
    expect([...listed].sort()).toEqual(present.sort());
  });

  // The examples deploy different functions: independent, so they run at once (vitest runs the
  // sequential test after them once they are all done).
  it.concurrent.each(ROWS.filter((r) => !needsProcess(r)).map((r) => [r.example, r]))(
    '%s deploys with its one command and answers the documented result',
    async (_name, row) => runRow(row as Row),
    300_000,
  );

  it('fibonacci refuses a bad n with status failed and exit 1', async () => {
    const res = await strata(['fn', 'invoke', 'fibonacci', '--data', '{"n":-1}', '--url', t.worker.url, '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: 'failed', error: { code: 'function_error' } });
  });
});

describeIf(processTier, 'udf-examples/README.md scripts (process tier)', () => {
  it.concurrent.each(ROWS.filter(needsProcess).map((r) => [r.example, r]))(
    '%s deploys with its one command and answers the documented result',
    async (_name, row) => runRow(row as Row),
  );
});

describe('fn deploy of a manifest', () => {
  it('says which file to pick when the code beside it is ambiguous, or missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-manifest-'));
    try {
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ name: 'two', runtime: 'js', trust: 'trusted' }));
      const none = await strata(['fn', 'deploy', dir, '--url', t.worker.url]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(
        /no source file \(\.js, \.mjs\) beside .*manifest\.json — build it or pass --source FILE/,
      );
      writeFileSync(join(dir, 'a.js'), 'export default () => "a"');
      writeFileSync(join(dir, 'b.js'), 'export default () => "b"');
      const two = await strata(['fn', 'deploy', dir, '--url', t.worker.url]);
      expect(two.code).toBe(2);
      expect(two.stderr).toContain('(a.js, b.js) — pick one with --source FILE');
      const picked = await strata(['fn', 'deploy', dir, '--source', join(dir, 'b.js'), '--url', t.worker.url]);
      expect(picked.code, picked.stderr).toBe(0);
      const run = await strata(['fn', 'invoke', 'two', '--url', t.worker.url, '--json']);
      expect(JSON.parse(run.stdout).result).toBe('b');
      writeFileSync(join(dir, 'manifest.json'), '{ not json');
      const bad = await strata(['fn', 'deploy', dir, '--url', t.worker.url]);
      expect(bad.stderr).toMatch(/manifest\.json is not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('example build scripts', () => {
  let fakeBin: string;
  beforeAll(() => {
    // A `node` first on PATH that is not the project's: a build that used it would fail.
    fakeBin = mkdtempSync(join(tmpdir(), 'strata-fake-node-'));
    writeFileSync(join(fakeBin, 'node'), '#!/bin/sh\necho "wrong node: use node_modules/.bin/node" >&2\nexit 99\n');
    chmodSync(join(fakeBin, 'node'), 0o755);
  });
  afterAll(() => {
    rmSync(fakeBin, { recursive: true, force: true });
    for (const dir of ['wasm/wat-add/build', 'component/js-wordcount/build']) {
      rmSync(join(EXAMPLES, dir), { recursive: true, force: true });
    }
  });

  const tracked = () =>
    execFileSync('git', ['status', '--porcelain', '--', 'udf-examples'], { cwd: ROOT, encoding: 'utf8' });

  it.each([
    ['wasm/wat-add', [], 'build/add.wasm'],
    ['component/js-wordcount', ['quickjs'], 'build/wordcount.component.wasm'],
  ])(
    '%s/build.sh builds into build/ with the project Node, touching no tracked file',
    (dir, args, output) => {
      const before = tracked();
      // wat2wasm, if installed, would skip node altogether: hide it too.
      const path = `${fakeBin}:/usr/bin:/bin`;
      const res = spawnSync('sh', [join(EXAMPLES, dir, 'build.sh'), ...args], {
        env: { ...process.env, PATH: path },
        encoding: 'utf8',
      });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stderr).not.toContain('wrong node');
      const built = join(EXAMPLES, dir, output);
      expect(readFileSync(built).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
      expect(tracked()).toBe(before);
    },
    300_000,
  );
});
