/** Standard-trust JS compiled into a component at prepare time and run through the wasm host. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runComponent } from '../../../sandboxes/wasm/component/run-component.ts';
import { pickEngine, wrapSource } from '../../../sandboxes/wasm/js-compile.ts';
import { prepareJs } from '../../../sandboxes/wasm/prepare-component.ts';
import { artifact, type DriverFixture, invocation, makeDriver, runOptions } from './helpers.ts';

const wordcount = readFileSync(
  new URL('../../../udf-examples/component/js-wordcount/wordcount.js', import.meta.url),
  'utf8',
);

describe('JS as a component through the driver (engine auto)', () => {
  let fx: DriverFixture;
  beforeAll(async () => {
    fx = makeDriver();
    await fx.driver.start();
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  it('compiles at prepare and runs async functions', async () => {
    const source = wordcount;
    const a = artifact(source, { runtime: 'js', trust: 'standard', source });
    const prepared = await fx.driver.prepare(a);
    expect(prepared.meta.kind).toBe('component');
    const run = runOptions({ timeoutMs: 10_000 });
    const outcome = await fx.driver.run(prepared, invocation({ text: 'the cat and the hat' }), run.options);
    run.done();
    expect(outcome).toMatchObject({ status: 'succeeded', result: { words: 5, top: { the: 2 } } });
    // A second worker on the same data dir reuses the compiled component.
    const other = makeDriver(fx.dataDir);
    const again = await other.driver.prepare(a);
    expect(again.cacheHit).toBe(true);
    await other.driver.dispose();
  });

  it('an endless JS loop is stopped at the deadline', async () => {
    const source = 'export default function () { for (;;) {} }';
    const prepared = await fx.driver.prepare(artifact(source, { runtime: 'js', trust: 'standard', source }));
    const run = runOptions({ timeoutMs: 500 });
    const outcome = await fx.driver.run(prepared, invocation(null), run.options);
    run.done();
    expect(outcome.status).toBe('timeout');
  });

  it('a throwing JS function fails and the tier serves the next call', async () => {
    const source = 'export default function () { throw new Error("boom"); }';
    const prepared = await fx.driver.prepare(artifact(source, { runtime: 'js', trust: 'standard', source }));
    const run = runOptions({ timeoutMs: 10_000 });
    const outcome = await fx.driver.run(prepared, invocation(null), run.options);
    run.done();
    expect(outcome.status).toBe('failed');
    expect(run.logs.text()).toContain('boom');
  });
});

describe('engine choice and wrapping', () => {
  it('auto picks StarlingMonkey only for code that may await', () => {
    expect(pickEngine('export default async function () {}', 'auto')).toBe('starlingmonkey');
    expect(pickEngine('export default (x) => fetchIt().then(f)', 'auto')).toBe('starlingmonkey');
    expect(pickEngine('export default function (x) { return x * 2; }', 'auto')).toBe('quickjs');
    expect(pickEngine('export default async function () {}', 'quickjs')).toBe('quickjs');
  });

  it('refuses a module without a default export', () => {
    expect(() => wrapSource('export function f() {}')).toThrow(/default export/);
  });
});

describe('JS as a component (QuickJS engine)', () => {
  it('runs a synchronous function', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-qjs-'));
    try {
      await prepareJs(
        'export default function (input) { return { n: input.length, env: typeof process }; }',
        'quickjs',
        dir,
        1024,
      );
      const out = await runComponent({
        dir,
        inputJson: '[1,2,3]',
        resultBytes: 4096,
        logBytes: 4096,
        memoryCapBytes: 1024 * 65536,
      });
      expect(out).toMatchObject({ status: 'succeeded', result: { n: 3, env: 'undefined' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
