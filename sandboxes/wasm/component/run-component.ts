/**
 * Runs one invocation of a transpiled component in the current (guest) thread: the jco-generated
 * `instantiate()` gets our WASI 0.2 imports and core modules compiled once per thread, a new
 * instance is made for every invocation, and `run(inputJson)` gives the result text.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LogBudget } from '../../../src/core/log-budget.ts';
import { type CoreRunResult, nearCap } from '../run-core.ts';
import { ComponentExit, createWasiP2 } from './wasi-p2.ts';

export const COMPONENT_ENTRY = 'component.js';

export interface ComponentRunRequest {
  dir: string;
  inputJson: string;
  resultBytes: number;
  logBytes: number;
  memoryCapBytes: number;
  tempDir?: string | undefined;
  tmpBytes?: number;
}

type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, Record<string, unknown>>,
  instantiateCore: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
) => Promise<{ run: (input: string) => string }> | { run: (input: string) => string };

interface Loaded {
  instantiate: Instantiate;
  modules: Map<string, WebAssembly.Module>;
}

const loaded = new Map<string, Promise<Loaded>>();
const ready = new Set<string>();

/** Whether this thread has the component's core modules compiled already (a prewarmed start). */
export function isLoaded(dir: string): boolean {
  return ready.has(dir);
}

/** Compile a transpiled component's core modules and import its glue (once per thread). */
export function loadComponent(dir: string): Promise<Loaded> {
  let pending = loaded.get(dir);
  if (!pending) {
    pending = (async () => {
      const modules = new Map<string, WebAssembly.Module>();
      for (const name of await readdir(dir)) {
        if (name.endsWith('.wasm')) modules.set(name, await WebAssembly.compile(await readFile(join(dir, name))));
      }
      const glue = (await import(pathToFileURL(join(dir, COMPONENT_ENTRY)).href)) as { instantiate: Instantiate };
      ready.add(dir);
      return { instantiate: glue.instantiate, modules };
    })();
    loaded.set(dir, pending);
    pending.catch(() => loaded.delete(dir));
  }
  return pending;
}

export async function runComponent(req: ComponentRunRequest): Promise<CoreRunResult> {
  const began = performance.now();
  const prewarmed = isLoaded(req.dir);
  const { instantiate, modules } = await loadComponent(req.dir);
  const logs = new LogBudget(req.logBytes);
  const decoder = new TextDecoder();
  const toLog = (bytes: Uint8Array) => logs.write(decoder.decode(bytes, { stream: true }));
  const instances: WebAssembly.Instance[] = [];
  const out: CoreRunResult = { status: 'succeeded', logs: '' };
  const cpuStart = process.threadCpuUsage();
  try {
    const exports = await instantiate(
      (name) => {
        const module = modules.get(name);
        if (!module) throw new Error(`the component has no core module ${name}`);
        return module;
      },
      createWasiP2({ onStdout: toLog, onStderr: toLog }),
      (module, imports) => {
        const instance = new WebAssembly.Instance(module, imports);
        instances.push(instance);
        return instance;
      },
    );
    out.start = { kind: prewarmed ? 'prewarmed' : 'cold', initMs: performance.now() - began };
    const text = exports.run(req.inputJson);
    if (Buffer.byteLength(text) > req.resultBytes) {
      out.status = 'killed';
      out.error = { code: 'result_too_large', message: `the component returned more than ${req.resultBytes} bytes` };
    } else {
      try {
        out.result = JSON.parse(text);
      } catch {
        out.result = text;
        out.resultIsText = true;
      }
    }
  } catch (error) {
    const memory = memoryOf(instances);
    if (error instanceof ComponentExit) {
      if (error.exitCode === 0) out.result = null;
      else {
        out.status = 'failed';
        out.exitCode = error.exitCode;
        out.error = { code: 'function_error', message: `the component exited with code ${error.exitCode}` };
      }
    } else if (nearCap(memory, req.memoryCapBytes)) {
      out.status = 'memory_exceeded';
      out.error = {
        code: 'memory_exceeded',
        message: `the component reached its memory limit (${req.memoryCapBytes / 1024 ** 2} MiB)`,
      };
    } else {
      out.status = 'failed';
      const message =
        error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
      out.error = { code: 'function_error', message: `the component failed: ${message}` };
    }
  }
  const cpu = process.threadCpuUsage(cpuStart);
  out.cpuMs = (cpu.user + cpu.system) / 1000;
  out.memoryBytes = memoryOf(instances);
  out.logs = logs.text() + decoder.decode();
  return out;
}

/** Largest linear memory among the component's core instances (the main module's, in practice). */
export function memoryOf(instances: WebAssembly.Instance[]): number {
  let bytes = 0;
  for (const instance of instances) {
    for (const value of Object.values(instance.exports)) {
      if (value instanceof WebAssembly.Memory) bytes = Math.max(bytes, value.buffer.byteLength);
    }
  }
  return bytes;
}
