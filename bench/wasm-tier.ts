/**
 * WASM tier figures, side by side in one run:
 *  - invoke through the driver (main process -> wasm host -> guest thread) of a small cached
 *    core module (WAT `add`, plain entry), a C WASI command, a C component, and standard JS in
 *    each engine (StarlingMonkey, QuickJS);
 *  - deploying standard JS: the engine build (once per engine version), a new small function
 *    with the engine cached (prepare(), with where the time went), the same after a restart
 *    (disk cache), and for comparison the old path (one component compiled per function);
 *  - instantiation cost alone (new WebAssembly.Instance of a compiled module) in-process;
 *  - fuel overhead: the same compute loop metered and unmetered, in-process.
 *
 *   node bench/wasm-tier.ts             STRATA_BENCH_N=500 node bench/wasm-tier.ts
 *   STRATA_BENCH_JS=0 node bench/wasm-tier.ts   (skip the JS engines: they take seconds to build)
 *
 * Over-HTTP rows are added by the gateway benchmark; target there: <= 1 ms p50 for a small core module.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { createWasmDriver, type WasmDriver } from '../sandboxes/wasm/driver.ts';
import { compileJsComponent } from '../sandboxes/wasm/js-compile.ts';
import type { JsEngine } from '../sandboxes/wasm/js-engine/build-engine.ts';
import { prepareComponent } from '../sandboxes/wasm/prepare-component.ts';
import { runCore } from '../sandboxes/wasm/run-core.ts';
import { sha256, transformCore } from '../sandboxes/wasm/transform.ts';
import { loadConfig } from '../src/config/index.ts';
import type { Artifact } from '../src/core/driver.ts';
import { StrataError } from '../src/core/errors.ts';
import { LogBudget } from '../src/core/log-budget.ts';
import { type ManifestInput, manifestSchema } from '../src/core/manifest.ts';

export interface WasmBenchRow {
  name: string;
  n: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Free-form facts for the row (sizes, build times, ratios). */
  note?: string;
}

const root = new URL('../', import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, root)));

function stats(samples: number[]): Pick<WasmBenchRow, 'meanMs' | 'p50Ms' | 'p99Ms'> {
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  return { meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length, p50Ms: q(0.5), p99Ms: q(0.99) };
}

function artifactOf(code: Uint8Array, manifest: Partial<ManifestInput>): Artifact {
  const m = manifestSchema.parse({ name: 'bench', runtime: 'wasm', ...manifest });
  return {
    digest: sha256(Buffer.concat([Buffer.from(JSON.stringify(m)), code])),
    name: m.name,
    version: 1,
    manifest: m,
    code,
  };
}

async function timeInvokes(driver: WasmDriver, a: Artifact, input: unknown, n: number): Promise<number[]> {
  const prepared = await driver.prepare(a);
  const limits = {
    timeoutMs: 10_000,
    memoryMb: 64,
    logBytes: 65536,
    resultBytes: 1 << 20,
    pids: 64,
    tmpMb: 64,
    errorBytes: 16_384,
  };
  const samples: number[] = [];
  for (let i = 0; i < n + 5; i++) {
    const controller = new AbortController();
    const started = performance.now();
    const out = await driver.run(
      prepared,
      { id: `b${i}`, input, inputJson: JSON.stringify(input), priority: 0 },
      {
        deadline: Date.now() + limits.timeoutMs,
        limits,
        signal: controller.signal,
        logs: new LogBudget(limits.logBytes),
      },
    );
    const ms = performance.now() - started;
    if (out.status !== 'succeeded')
      throw new StrataError('internal', `bench invoke ${out.status}: ${out.error?.message}`);
    if (i >= 5) samples.push(ms);
  }
  return samples;
}

async function inProcess(bytes: Uint8Array, fuel: boolean, entry: string, inputJson: string, n: number) {
  const t = await transformCore(bytes, { capPages: 256, fuel, entry });
  const module = new WebAssembly.Module(t.bytes as Uint8Array<ArrayBuffer>);
  const samples: number[] = [];
  let fuelConsumed: number | undefined;
  for (let i = 0; i < n + 3; i++) {
    const started = performance.now();
    const out = runCore({
      module,
      style: t.style,
      entry: t.entry,
      reactor: t.reactor,
      metered: t.metered,
      inputJson,
      resultBytes: 1 << 20,
      logBytes: 4096,
      memoryCapBytes: 256 * 65536,
    });
    if (out.status !== 'succeeded') throw new StrataError('internal', `bench run ${out.status}: ${out.error?.message}`);
    fuelConsumed = out.fuelConsumed;
    if (i >= 3) samples.push(performance.now() - started);
  }
  return { samples, fuelConsumed };
}

const WORK = `(module
  (func (export "work") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (i32.const 31))))
      (local.set $acc (i32.xor (local.get $acc) (i32.shr_u (local.get $acc) (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc)))`;

export async function run(options: { n?: number; js?: boolean } = {}): Promise<WasmBenchRow[]> {
  const n = options.n ?? Number(process.env.STRATA_BENCH_N ?? 200);
  const withJs = options.js ?? process.env.STRATA_BENCH_JS !== '0';
  const rows: WasmBenchRow[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-wasm-bench-'));
  const config = loadConfig({ env: {}, overrides: { dataDir, wasm: { hosts: 1 } } });
  const driver = createWasmDriver({
    config: config.wasm,
    dataDir,
    defaultMemoryBytes: 64 << 20,
    maxMemoryBytes: 1 << 30,
  });
  try {
    await driver.start();
    const add = read('udf-examples/wasm/wat-add/add.wasm');
    rows.push({
      name: 'driver invoke: core module (WAT add)',
      n,
      ...stats(await timeInvokes(driver, artifactOf(add, { entry: 'add' }), [40, 2], n)),
    });
    const cStats = read('udf-examples/wasm/c-stats/stats.wasm');
    rows.push({
      name: 'driver invoke: C WASI command (stats)',
      n,
      ...stats(await timeInvokes(driver, artifactOf(cStats, {}), [1, 2, 3, 4], n)),
    });
    const shout = read('udf-examples/component/c-shout/shout.wasm');
    rows.push({
      name: 'driver invoke: C component (shout)',
      n,
      ...stats(await timeInvokes(driver, artifactOf(shout, {}), { a: 1 }, n)),
    });
    if (withJs) rows.push(...(await jsRows(n)));
  } finally {
    await driver.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }

  // Instantiation alone, in-process: what a new instance per invocation costs.
  const cStats = read('udf-examples/wasm/c-stats/stats.wasm');
  const module = new WebAssembly.Module(
    (await transformCore(cStats, { capPages: 256, fuel: false })).bytes as Uint8Array<ArrayBuffer>,
  );
  const stub = new Proxy({}, { get: () => () => 0 });
  const inst: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    const started = performance.now();
    new WebAssembly.Instance(module, { wasi_snapshot_preview1: stub as Record<string, () => number> });
    if (i >= 3) inst.push(performance.now() - started);
  }
  rows.push({ name: 'instantiate only: C command (27 KB, 2 pages)', n, ...stats(inst) });
  const run1 = await inProcess(cStats, false, '_start', '[1,2,3,4]', n);
  rows.push({ name: 'in-process run: C command (instance + _start)', n, ...stats(run1.samples) });

  // Fuel: same loop, metered and not.
  const work = await parse(WORK);
  const plain = stats((await inProcess(work, false, 'work', '[1000000]', Math.max(20, n / 5))).samples);
  const metered = await inProcess(work, true, 'work', '[1000000]', Math.max(20, n / 5));
  const m = stats(metered.samples);
  rows.push({ name: 'compute loop 1e6 iterations, unmetered', n: Math.max(20, n / 5), ...plain });
  rows.push({
    name: 'compute loop 1e6 iterations, fuel-metered',
    n: Math.max(20, n / 5),
    ...m,
    note: `x${(m.p50Ms / plain.p50Ms).toFixed(2)} of unmetered (p50), fuel ${metered.fuelConsumed}`,
  });
  return rows;
}

/** Standard JS: what a deploy costs (engine once, then per function) and what an invoke costs. */
async function jsRows(n: number): Promise<WasmBenchRow[]> {
  const rows: WasmBenchRow[] = [];
  const source = readFileSync(new URL('udf-examples/component/js-wordcount/wordcount.js', root), 'utf8');
  for (const engine of ['starlingmonkey', 'quickjs'] as JsEngine[]) {
    const dataDir = mkdtempSync(join(tmpdir(), 'strata-wasm-bench-js-'));
    const make = () =>
      createWasmDriver({
        config: loadConfig({
          env: {},
          overrides: { dataDir, wasm: { hosts: 1, jsEngine: engine, prebuildEngines: false } },
        }).wasm,
        dataDir,
        defaultMemoryBytes: 64 << 20,
        maxMemoryBytes: 1 << 30,
      });
    const jsArtifact = (text: string) => artifactOf(new TextEncoder().encode(text), { runtime: 'js', source: text });
    // A function the engine runs either way (QuickJS cannot wait for a promise).
    const fn = (i: number) => `${source.replace(/async function/, 'function')}\n// variant ${i}\n`;
    let driver = make();
    try {
      await driver.start();
      let started = performance.now();
      await driver.prebuildEngines();
      rows.push({
        name: `JS engine build, ${engine} (once per engine version)`,
        n: 1,
        ...stats([performance.now() - started]),
      });
      const deploys: number[] = [];
      let last: Awaited<ReturnType<WasmDriver['prepare']>> | undefined;
      for (let i = 0; i < 10; i++) {
        started = performance.now();
        last = await driver.prepare(jsArtifact(fn(i)));
        deploys.push(performance.now() - started);
      }
      const steps = Object.entries(last?.compile.steps ?? {})
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(', ');
      rows.push({
        name: `deploy a small JS function, ${engine} (engine cached)`,
        n: 10,
        ...stats(deploys),
        note: steps,
      });
      const m = Math.max(20, Math.floor(n / 5));
      rows.push({
        name: `driver invoke: JS, ${engine}`,
        n: m,
        ...stats(await timeInvokes(driver, jsArtifact(fn(0)), { text: 'the cat and the hat' }, m)),
      });
      await driver.dispose();
      // A restart: a new driver on the same data dir finds every piece on disk.
      driver = make();
      await driver.start();
      started = performance.now();
      const again = await driver.prepare(jsArtifact(fn(1)));
      rows.push({
        name: `deploy after a restart, ${engine} (disk cache)`,
        n: 1,
        ...stats([performance.now() - started]),
        note: `cached ${again.compile.cached}`,
      });
    } finally {
      await driver.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
    // The old deploy path, for comparison: one component compiled (and transpiled) per function.
    const scratch = mkdtempSync(join(tmpdir(), 'strata-wasm-bench-old-'));
    try {
      const started = performance.now();
      const component = await compileJsComponent(fn(99), engine);
      const compiled = performance.now() - started;
      await prepareComponent(component, scratch, 1024);
      rows.push({
        name: `old path: compile one function to a component, ${engine}`,
        n: 1,
        ...stats([performance.now() - started]),
        note: `componentize ${compiled.toFixed(0)} ms, ${(component.length / 1024 ** 2).toFixed(1)} MiB`,
      });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return rows;
}

export function formatRows(rows: WasmBenchRow[]): string {
  const head = ['case', 'n', 'mean ms', 'p50 ms', 'p99 ms', 'note'];
  const body = rows.map((r) => [
    r.name,
    String(r.n),
    r.meanMs.toFixed(3),
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

if (import.meta.main) {
  const rows = await run();
  console.log('wasm tier');
  console.log(formatRows(rows));
}
