/**
 * The README's first example, as a new user runs it: `npm start`, then `strata fn deploy
 * udf-examples/js/hello.js` with no flags (standard trust, the WASM tier) and `fn invoke`. And
 * the README's table of what a JS function gets in each tier, checked against what the real
 * server gives: the same function deployed three ways reports its ctx and whether timers exist
 * and wait. When a tier changes (timers in isolates), this fails until the table says so.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  listeningUrl,
  processesMarked,
  removeCgroupParents,
  type ServerProcess,
  startServer,
} from './server-process.ts';
import { strata } from './support.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = README.slice(README.indexOf('## A first function'), README.indexOf('## With a Master'));

/** The timers cell of the README row whose first cell starts with `prefix`. */
function row(prefix: string): { ctx: string; timers: string } {
  const line = section.split('\n').find((l) => l.startsWith(`| ${prefix}`));
  expect(line, `README "A first function" has a row starting ${prefix}`).toBeDefined();
  const cells = (line as string).slice(1, -1).split(' | ');
  return { ctx: cells[1] as string, timers: cells[2] as string };
}

/** Reports ctx and timers; awaits one timer when it may (`awaits` picks StarlingMonkey under auto). */
const probe = (awaits: boolean) => `export default ${awaits ? 'async ' : ''}function (input, ctx) {
  const report = {
    keys: Object.keys(ctx).sort(),
    fnKeys: Object.keys(ctx.function).sort(),
    frozen: Object.isFrozen(ctx) && Object.isFrozen(ctx.function),
    timers: [typeof setTimeout, typeof setInterval, typeof clearTimeout, typeof clearInterval],
  };
  console.log('from console');
  ctx.log('from ctx.log');
  ${
    awaits
      ? `if (typeof setTimeout === 'function') {
    const t0 = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 30));
    report.waitedMs = Date.now() - t0;
  }`
      : ''
  }
  return report;
}`;

type Report = { keys: string[]; fnKeys: string[]; frozen: boolean; timers: string[]; waitedMs?: number };

let dir: string;
let server: ServerProcess;
let url: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-first-example-'));
  writeFileSync(join(dir, 'probe-sync.js'), probe(false));
  writeFileSync(join(dir, 'probe-async.js'), probe(true));
  server = startServer({
    STRATA_DATA_DIR: join(dir, 'data'),
    STRATA_WASM_ENGINE_CACHE_DIR: inject('wasmEngineCache'),
  });
  url = await listeningUrl(server);
}, 120_000);
afterAll(async () => {
  if (server) {
    expect(await server.stop()).toBe(0);
    expect(processesMarked(server.mark)).toEqual([]);
  }
  rmSync(dir, { recursive: true, force: true });
  removeCgroupParents();
}, 60_000);

async function deployAndRun(file: string, name: string, trust?: string): Promise<{ tier: string; result: Report }> {
  const deploy = await strata([
    'fn',
    'deploy',
    file,
    '--name',
    name,
    ...(trust ? ['--trust', trust] : []),
    '--url',
    url,
  ]);
  expect(deploy.code, deploy.stderr).toBe(0);
  const invoked = await strata(['fn', 'invoke', name, '--url', url, '--json']);
  expect(invoked.code, invoked.stdout + invoked.stderr).toBe(0);
  const record = JSON.parse(invoked.stdout) as { tier: string; result: Report; logs: string };
  expect(record.logs).toBe('from console\nfrom ctx.log\n');
  return record;
}

/** What the README must say for what was seen. */
function expectRowMatches(prefix: string, seen: Report): void {
  const { ctx, timers } = row(prefix);
  expect(seen.frozen).toBe(true);
  // "the same" stands for the first row's members; anything beyond them the row must name.
  const base = ['deadline', 'executionId', 'function', 'log'];
  for (const key of seen.keys)
    expect((ctx.startsWith('the same') && base.includes(key)) || ctx.includes(key), key).toBe(true);
  // The row names ctx.fetch where the tier offers it (trusted JS in the isolate tier).
  const extra = ctx.includes('ctx.fetch') ? ['fetch'] : [];
  expect(seen.keys).toEqual([...base.slice(0, 2), ...extra, ...base.slice(2)]);
  expect(seen.fnKeys).toEqual(['name', 'version']);
  if (seen.timers.every((t) => t === 'undefined')) expect(timers).toMatch(/none.*setTimeout. is undefined/);
  else {
    expect(seen.timers).toEqual(['function', 'function', 'function', 'function']);
    if (seen.waitedMs === undefined) expect(timers).toMatch(/exist but never fire/);
    else {
      // A timer never fires early: a lower bound only.
      expect(seen.waitedMs).toBeGreaterThanOrEqual(25);
      expect(timers).toMatch(/really wait/);
    }
  }
}

describe("the README's first example, with the defaults", { timeout: 300_000 }, () => {
  it('deploys hello.js with no flags into the WASM tier and invokes it', async () => {
    const hello = join(ROOT, 'udf-examples', 'js', 'hello.js');
    const deploy = await strata(['fn', 'deploy', hello, '--url', url]);
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(/^deployed hello v1$/m);
    expect(deploy.stdout).toMatch(/^runtime:\s+js \(standard\)$/m);
    expect(deploy.stdout).toMatch(/^tier:\s+wasm$/m);
    expect(deploy.stdout).toMatch(/^compile:\s+\S/m);
    const invoke = await strata(['fn', 'invoke', 'hello', '--data', '{"name":"Ada"}', '--url', url]);
    expect(invoke.code, invoke.stderr).toBe(0);
    expect(invoke.stdout).toMatch(/^status:\s+succeeded$/m);
    expect(invoke.stdout).toMatch(/^result:\s+\{"greeting":"Hello, Ada!"\}$/m);
    expect(invoke.stdout).toMatch(/^logs:\ngreeting Ada$/m);
  });

  it('the table row for QuickJS (standard code that never awaits) says what it gives', async () => {
    const { tier, result } = await deployAndRun(join(dir, 'probe-sync.js'), 'probe-sync');
    expect(tier).toBe('wasm');
    expectRowMatches('`wasm`, QuickJS', result);
  });

  it('the table row for StarlingMonkey (standard code that awaits) says what it gives', async () => {
    const { tier, result } = await deployAndRun(join(dir, 'probe-async.js'), 'probe-async');
    expect(tier).toBe('wasm');
    expectRowMatches('`wasm`, StarlingMonkey', result);
  });

  it('the table row for the isolate tier (--trust trusted) says what it gives', async () => {
    const { tier, result } = await deployAndRun(join(dir, 'probe-async.js'), 'probe-trusted', 'trusted');
    expect(tier).toBe('isolate');
    expectRowMatches('`isolate`', result);
  });
});
