/**
 * Standard-trust JS in the wasm tier: rewritten at deploy, run in a shared JS engine component.
 * The engines are built once per test run (a shared cache, built in beforeAll without a time
 * limit: how long that takes depends on the machine, never the verdict).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompileProgressEvent } from '../../../sandboxes/wasm/compile-report.ts';
import { pickEngine } from '../../../sandboxes/wasm/js-engine/build-engine.ts';
import { rewriteModule } from '../../../sandboxes/wasm/js-engine/rewrite.ts';
import { artifact, type DriverFixture, invocation, makeDriver, runOptions } from './helpers.ts';

const wordcount = readFileSync(
  new URL('../../../udf-examples/component/js-wordcount/wordcount.js', import.meta.url),
  'utf8',
);
const hello = readFileSync(new URL('../../../udf-examples/js/hello.js', import.meta.url), 'utf8');

const js = (source: string, extra: Record<string, unknown> = {}) =>
  artifact(source, { runtime: 'js', trust: 'standard', source, ...extra });

describe('JS in the wasm tier (engine auto)', () => {
  let fx: DriverFixture;
  beforeAll(async () => {
    fx = makeDriver();
    await fx.driver.start();
    // Builds (or finds) both engines; no time limit: its duration is the machine's, not the verdict.
    await fx.driver.prebuildEngines();
  }, 0);
  afterAll(async () => {
    await fx?.cleanup();
  });

  async function invoke(source: string, input: unknown = null, limits = {}) {
    const prepared = await fx.driver.prepare(js(source));
    const run = runOptions({ timeoutMs: 30_000, ...limits });
    try {
      return {
        outcome: await fx.driver.run(prepared, invocation(input), run.options),
        logs: run.logs.text(),
        prepared,
      };
    } finally {
      run.done();
    }
  }

  it("runs the README's first example with the default trust: ctx.log reaches the logs", async () => {
    const { outcome, logs } = await invoke(hello, { name: 'Ada' });
    expect(outcome).toMatchObject({ status: 'succeeded', result: { greeting: 'Hello, Ada!' } });
    expect(logs).toBe('greeting Ada\n');
    expect(outcome.start?.kind).toMatch(/^(cold|prewarmed)$/);
  });

  it('runs async functions (StarlingMonkey) and says where the compile time went', async () => {
    const a = js(wordcount);
    const events: CompileProgressEvent[] = [];
    const prepared = await fx.driver.prepare(a, { onProgress: (e) => events.push(e) });
    expect(prepared.meta.kind).toBe('js');
    expect(prepared.compile.cached).toBe(false);
    expect(Object.keys(prepared.compile.steps)).toEqual(expect.arrayContaining(['parse', 'write']));
    expect(events.filter((e) => e.state === 'finished').map((e) => e.step)).toContain('parse');
    const run = runOptions({ timeoutMs: 30_000 });
    const outcome = await fx.driver.run(prepared, invocation({ text: 'the cat and the hat' }), run.options);
    run.done();
    expect(outcome).toMatchObject({ status: 'succeeded', result: { words: 5, top: { the: 2 } } });
    // This process memoized it; a second worker on the same data dir finds it on disk.
    expect((await fx.driver.prepare(a)).compile).toEqual({ cached: true, ms: 0, steps: {} });
    const other = makeDriver(fx.dataDir);
    try {
      const again = await other.driver.prepare(a);
      expect(again.cacheHit).toBe(true);
      expect(again.compile.cached).toBe(true);
      expect(again.compile.steps.parse).toBeUndefined();
    } finally {
      await other.driver.dispose();
    }
  });

  it('an endless JS loop is stopped at the deadline', async () => {
    const { outcome } = await invoke('export default function () { for (;;) {} }', null, { timeoutMs: 500 });
    expect(outcome.status).toBe('timeout');
    expect(outcome.death).toMatchObject({ cause: 'time', limit: 500 });
  });

  it('a timer past the deadline ends the invocation as a timeout, not a hang', async () => {
    const { outcome } = await invoke(
      'export default async () => { await new Promise((r) => setTimeout(r, 600_000)); return 1; }',
      null,
      { timeoutMs: 400 },
    );
    expect(outcome.status).toBe('timeout');
  });

  it('timers left running are cleared when the function returns', async () => {
    const { outcome, logs } = await invoke(
      `export default async (input, ctx) => {
        setInterval(() => ctx.log('tick'), 1);
        setTimeout(() => ctx.log('late'), 50);
        await new Promise((r) => setTimeout(r, 20));
        return 'done';
      }`,
    );
    expect(outcome).toMatchObject({ status: 'succeeded', result: 'done' });
    expect(logs).not.toContain('late');
  });

  it('a throwing function fails with its error and the tier serves the next call', async () => {
    const { outcome } = await invoke('export default function () { throw new TypeError("boom"); }');
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'function_error', message: 'TypeError: boom' } });
    expect(outcome.death).toMatchObject({ cause: 'error' });
    expect((await invoke('export default () => 2')).outcome.result).toBe(2);
  });

  it('a promise that can never settle fails with a clear message', async () => {
    const { outcome } = await invoke('export default async () => new Promise(() => {})');
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toMatch(/never settled/);
  });

  it('refuses a result that is not JSON and a module whose default export is not a function', async () => {
    const cyclic = await invoke('export default () => { const a = {}; a.a = a; return a; }');
    expect(cyclic.outcome.error?.code).toBe('result_not_serializable');
    const notFn = await invoke('export default 42;');
    expect(notFn.outcome.status).toBe('failed');
    expect(notFn.outcome.error?.message).toMatch(/default export is not a function/);
  });

  it('refuses network permissions at prepare (the tier has none)', async () => {
    await expect(
      fx.driver.prepare(js('export default () => 1', { permissions: { network: true } })),
    ).rejects.toMatchObject({ code: 'permission_denied' });
  });

  it('refuses code that does not parse, naming the line, before anything is stored', async () => {
    await expect(fx.driver.prepare(js('export default function () {\n  return (;\n}'))).rejects.toMatchObject({
      code: 'invalid_code',
      message: expect.stringMatching(/does not parse.*\(2:/),
    });
  });

  it('QuickJS (a synchronous engine) refuses a function that returns a promise, with what to do', async () => {
    const q = makeDriver(undefined, 2, { jsEngine: 'quickjs' });
    try {
      await q.driver.start();
      const prepared = await q.driver.prepare(js('export default async () => 1'));
      const run = runOptions({ timeoutMs: 30_000 });
      const outcome = await q.driver.run(prepared, invocation(null), run.options);
      run.done();
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.message).toMatch(/cannot wait for.*starlingmonkey/);
    } finally {
      await q.cleanup();
    }
  });
});

describe('engine choice and the deploy-time rewrite', () => {
  it('auto picks StarlingMonkey only for code that may await', () => {
    expect(pickEngine('export default async function () {}', 'auto')).toBe('starlingmonkey');
    expect(pickEngine('export default (x) => fetchIt().then(f)', 'auto')).toBe('starlingmonkey');
    expect(pickEngine('export default function (x) { return x * 2; }', 'auto')).toBe('quickjs');
    expect(pickEngine('export default async function () {}', 'quickjs')).toBe('quickjs');
  });

  it('turns every form of default export into a returned binding', () => {
    const run = (source: string) => new Function(rewriteModule(source).body)() as () => unknown;
    expect(run('export default function () { return 1; }')()).toBe(1);
    expect(run('export default function named() { return 2; }')()).toBe(2);
    expect(run('export default (x = 3) => x')()).toBe(3);
    expect(run('const f = () => 4; export { f as default };')()).toBe(4);
    expect(run('export const k = 5; export default () => k')()).toBe(5);
    expect(new (run('export default class C { v = 6 }') as unknown as new () => { v: number })().v).toBe(6);
    expect(rewriteModule('const x = await 1; export default () => x').asyncBody).toBe(true);
    expect(rewriteModule('export default async () => { await 1; }').asyncBody).toBe(false);
  });

  it('refuses imports, modules without a default export, and names the line', () => {
    expect(() => rewriteModule('import fs from "node:fs";\nexport default () => fs')).toThrow(
      /imports are not available.*node:fs.*line 1/,
    );
    expect(() => rewriteModule('export default () => import("x")')).toThrow(/dynamic import/);
    expect(() => rewriteModule('export * from "y"; export default 1')).toThrow(/re-exports/);
    expect(() => rewriteModule('export function f() {}')).toThrow(/default export/);
  });
});
