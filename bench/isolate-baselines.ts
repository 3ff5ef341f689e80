/**
 * What the isolate tier is compared with: the same JS function run
 *   - in a child process per call (`node -e`, input on stdin, result on stdout), and
 *   - in a worker_thread per call (`new Worker(...)`, input by postMessage, result back).
 * Timed from the call to the result (a child: until it closed its stdout and exited; a thread:
 * until its message arrived; the thread's termination is awaited outside the timing).
 *
 *   node bench/isolate-baselines.ts        STRATA_BENCH_N=100 node bench/isolate-baselines.ts
 */
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { checkJs, JS_SOURCE, jsInput } from './support/functions.ts';
import { formatTable, ms, type Summary, summarize } from './support/stats.ts';

export interface BaselineRow extends Summary {
  name: string;
}

// The exported function turned into a plain expression both baselines can evaluate.
const FN_EXPR = `(${JS_SOURCE.replace(/^export default\s*/, '')})`;

const CHILD_SCRIPT = `let s='';process.stdin.setEncoding('utf8');process.stdin.on('data',d=>s+=d).on('end',async()=>{const r=await ${FN_EXPR}(JSON.parse(s));process.stdout.write(JSON.stringify(r))})`;

const THREAD_SCRIPT = `const {parentPort}=require('node:worker_threads');parentPort.once('message',async(input)=>{parentPort.postMessage(await ${FN_EXPR}(input))})`;

export function childProcessCall(input: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`node -e exited ${code}`));
      else resolve(JSON.parse(out));
    });
    child.stdin.end(JSON.stringify(input));
  });
}

export async function workerThreadCall(input: unknown): Promise<{ result: unknown; done: Promise<number> }> {
  const worker = new Worker(THREAD_SCRIPT, { eval: true });
  const result = await new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage(input);
  });
  return { result, done: worker.terminate() };
}

export async function run(options: { n?: number } = {}): Promise<BaselineRow[]> {
  const n = options.n ?? Number(process.env.STRATA_BENCH_N ?? 100);
  const child: number[] = [];
  const thread: number[] = [];
  // Interleaved, so drift on a shared machine hits both alike; two warm-up rounds.
  for (let i = 0; i < n + 2; i++) {
    let t = performance.now();
    checkJs(await childProcessCall(jsInput(i)), i);
    const c = performance.now() - t;
    t = performance.now();
    const { result, done } = await workerThreadCall(jsInput(i));
    const w = performance.now() - t;
    checkJs(result, i);
    await done;
    if (i >= 2) {
      child.push(c);
      thread.push(w);
    }
  }
  return [
    { name: 'child process per call (node -e)', ...summarize(child) },
    { name: 'worker_thread per call (new Worker)', ...summarize(thread) },
  ];
}

export function formatRows(rows: BaselineRow[]): string {
  return formatTable(
    ['case', 'n', 'mean ms', 'p50 ms', 'p99 ms'],
    rows.map((r) => [r.name, String(r.n), ms(r.meanMs), ms(r.p50Ms), ms(r.p99Ms)]),
  );
}

if (import.meta.main) {
  console.log(formatRows(await run()));
}
