/**
 * Runs one invocation of a standard-trust JS function in the current (guest) thread: a new
 * instance of the shared engine component (js-engine world) per invocation, called with the
 * function's rewritten source, the input and ctx's fields; logs arrive through the engine-host
 * import, the answer is a tagged string (js-engine/wrapper.ts) turned into a result value.
 */
import { readFile } from 'node:fs/promises';
import { LogBudget } from '../../../src/core/log-budget.ts';
import type { CoreRunResult } from '../run-core.ts';
import { nearCap } from '../run-core.ts';
import { isLoaded, loadComponent, memoryOf } from './run-component.ts';
import { ComponentDeadline, ComponentExit, createWasiP2 } from './wasi-p2.ts';

export interface JsRunRequest {
  /** The engine component (transpiled, memory capped for this function). */
  engineDir: string;
  /** The function's rewritten source (js-engine/rewrite.ts), read once per thread. */
  sourceFile: string;
  asyncBody: boolean;
  inputJson: string;
  ctx: { executionId: string; name: string; version: number };
  deadline: number;
  resultBytes: number;
  logBytes: number;
  memoryCapBytes: number;
}

const sources = new Map<string, Promise<string>>();
const MAX_SOURCES = 256;

function sourceOf(file: string): Promise<string> {
  let pending = sources.get(file);
  if (!pending) {
    if (sources.size >= MAX_SOURCES) sources.delete(sources.keys().next().value as string);
    pending = readFile(file, 'utf8');
    sources.set(file, pending);
    pending.catch(() => sources.delete(file));
  }
  return pending;
}

type EngineExports = { run: (source: string, input: string, meta: string) => string };

const ANSWER = /^([rtum])(\d+):/;

export async function runJs(req: JsRunRequest): Promise<CoreRunResult> {
  const began = performance.now();
  const prewarmed = isLoaded(req.engineDir);
  const [{ instantiate, modules }, source] = await Promise.all([
    loadComponent(req.engineDir),
    sourceOf(req.sourceFile),
  ]);
  const logs = new LogBudget(req.logBytes);
  // User output arrives through engine-host.log; the engine's own stdio carries only its
  // diagnostics (kept apart from the user's logs, read when it traps).
  const decoder = new TextDecoder();
  let diagnostics = '';
  const toDiagnostics = (bytes: Uint8Array) => {
    if (diagnostics.length < 4096) diagnostics += decoder.decode(bytes, { stream: true });
  };
  const instances: WebAssembly.Instance[] = [];
  const out: CoreRunResult = { status: 'succeeded', logs: '' };
  const cpuStart = process.threadCpuUsage();
  try {
    const imports = createWasiP2({ onStdout: toDiagnostics, onStderr: toDiagnostics, deadline: req.deadline });
    imports['strata:udf/engine-host'] = { log: (text: string) => logs.write(text) };
    const exports = (await instantiate(
      (name) => {
        const module = modules.get(name);
        if (!module) throw new Error(`the engine has no core module ${name}`);
        return module;
      },
      imports,
      (module, imported) => {
        const instance = new WebAssembly.Instance(module, imported);
        instances.push(instance);
        return instance;
      },
    )) as unknown as EngineExports;
    out.start = { kind: prewarmed ? 'prewarmed' : 'cold', initMs: performance.now() - began };
    const meta = JSON.stringify({ ...req.ctx, deadline: req.deadline, asyncBody: req.asyncBody });
    Object.assign(out, answerOf(exports.run(source, req.inputJson, meta), req.resultBytes));
  } catch (error) {
    Object.assign(out, trapped(error, memoryOf(instances), req.memoryCapBytes, diagnostics));
  }
  const cpu = process.threadCpuUsage(cpuStart);
  out.cpuMs = (cpu.user + cpu.system) / 1000;
  out.memoryBytes = memoryOf(instances);
  out.logs = logs.text();
  return out;
}

/** The engine's tagged answer as a result; anything malformed is a failure, never trusted. */
export function answerOf(answer: unknown, resultBytes: number): Partial<CoreRunResult> {
  const match = typeof answer === 'string' ? ANSWER.exec(answer) : null;
  if (!match || typeof answer !== 'string') {
    return { status: 'failed', error: { code: 'function_error', message: 'the JS engine gave a malformed answer' } };
  }
  const payload = answer.slice(match[0].length);
  const late = Number(match[2]);
  const extra: Partial<CoreRunResult> = late > 0 ? { lateLogBytes: late } : {};
  switch (match[1]) {
    case 'r': {
      if (Buffer.byteLength(payload) > resultBytes) {
        return {
          ...extra,
          status: 'failed',
          error: {
            code: 'result_too_large',
            message: `the result is ${Buffer.byteLength(payload)} bytes of JSON, over the result cap of ${resultBytes}; return less or raise limits.resultBytes on the node`,
          },
        };
      }
      try {
        return { ...extra, status: 'succeeded', result: JSON.parse(payload) };
      } catch {
        return {
          ...extra,
          status: 'failed',
          error: { code: 'function_error', message: 'the JS engine gave malformed JSON' },
        };
      }
    }
    case 't': {
      let thrown: { name?: unknown; message?: unknown } = {};
      try {
        thrown = JSON.parse(payload) as typeof thrown;
      } catch {}
      const name = typeof thrown.name === 'string' ? thrown.name : 'Error';
      const message = typeof thrown.message === 'string' ? thrown.message : '';
      if (/out of memory/i.test(message)) {
        return {
          ...extra,
          status: 'memory_exceeded',
          error: { code: 'memory_exceeded', message: `the function ran out of memory: ${message}` },
        };
      }
      return { ...extra, status: 'failed', error: { code: 'function_error', message: `${name}: ${message}` } };
    }
    case 'u':
      return {
        ...extra,
        status: 'failed',
        error: { code: 'result_not_serializable', message: `the result cannot be turned into JSON: ${payload}` },
      };
    default:
      return { ...extra, status: 'failed', error: { code: 'invalid_code', message: payload } };
  }
}

function trapped(error: unknown, memoryBytes: number, capBytes: number, diagnostics: string): Partial<CoreRunResult> {
  if (error instanceof ComponentDeadline) {
    return { status: 'timeout', error: { code: 'timeout', message: 'the function waited past its deadline' } };
  }
  if (error instanceof ComponentExit) {
    return {
      status: 'failed',
      error: { code: 'function_error', message: `the JS engine exited with code ${error.exitCode}` },
    };
  }
  if (nearCap(memoryBytes, capBytes)) {
    return {
      status: 'memory_exceeded',
      error: {
        code: 'memory_exceeded',
        message: `the function reached its memory limit (${capBytes / 1024 ** 2} MiB)`,
      },
    };
  }
  // StarlingMonkey aborts when the export's promise can never settle (nothing left to wait for).
  if (/event loop error/.test(diagnostics)) {
    return {
      status: 'failed',
      error: {
        code: 'function_error',
        message: 'the function returned a promise that never settled, with no timer or other work pending',
      },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 'failed', error: { code: 'function_error', message: `the JS engine trapped: ${message}` } };
}
