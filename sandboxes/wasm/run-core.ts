/**
 * Runs one invocation of a compiled core module in the current thread: a new instance with our
 * preview1 imports, fuel set before the call and read after, and the ending turned into a value
 * (status, result, error, usage). The wasm host calls this inside a guest worker thread; tests
 * call it directly.
 */
import type { ErrorInfo, FinalStatus } from '../../src/core/execution.ts';
import { LogBudget } from '../../src/core/log-budget.ts';
import { FUEL_GLOBAL } from './fuel-global.ts';
import { createPreview1, GuestExit } from './wasi/preview1.ts';

export interface CoreRunRequest {
  module: WebAssembly.Module;
  style: 'command' | 'entry';
  entry: string;
  reactor: boolean;
  /** Whether the module was fuel-metered at upload. */
  metered: boolean;
  inputJson: string;
  /** Fuel for this run (metered modules); absent means practically unlimited but still counted. */
  fuel?: number | undefined;
  resultBytes: number;
  logBytes: number;
  /** The memory's effective maximum (baked in at upload), to tell an out-of-memory ending from other traps. */
  memoryCapBytes: number;
  tempDir?: string | undefined;
  tmpBytes?: number;
}

export interface CoreRunResult {
  status: Exclude<FinalStatus, 'rejected'>;
  result?: unknown;
  resultIsText?: boolean;
  error?: ErrorInfo;
  exitCode?: number;
  logs: string;
  fuelConsumed?: number;
  memoryBytes?: number;
  cpuMs?: number;
  /** How the guest started: its code already compiled in this thread (prewarmed) or not (cold). */
  start?: { kind: 'prewarmed' | 'cold'; initMs: number };
  /** Log bytes written after the invocation ended: dropped, counted here. */
  lateLogBytes?: number;
}

/** Thrown from a host function to stop the guest because a host-side cap was hit. */
export class StopGuest extends Error {
  readonly code: ErrorInfo['code'];
  constructor(code: ErrorInfo['code'], message: string) {
    super(message);
    this.code = code;
  }
}

const UNLIMITED_FUEL = 2n ** 62n;

export function runCore(req: CoreRunRequest): CoreRunResult {
  const logs = new LogBudget(req.logBytes);
  const stdout: Uint8Array[] = [];
  let stdoutBytes = 0;
  const decoder = new TextDecoder();
  const toLog = (bytes: Uint8Array) => logs.write(decoder.decode(bytes, { stream: true }));
  const wasi = createPreview1({
    stdin: Buffer.from(req.style === 'command' ? req.inputJson : ''),
    onStdout:
      req.style === 'command'
        ? (bytes) => {
            stdoutBytes += bytes.length;
            if (stdoutBytes > req.resultBytes) {
              throw new StopGuest(
                'result_too_large',
                `the function wrote more than ${req.resultBytes} bytes to stdout (its result)`,
              );
            }
            stdout.push(bytes);
          }
        : toLog,
    onStderr: toLog,
    tempDir: req.tempDir,
    tmpBytes: req.tmpBytes ?? 0,
  });
  const cpuStart = process.threadCpuUsage();
  let instance: WebAssembly.Instance | undefined;
  let memory: WebAssembly.Memory | undefined;
  const fuelLimit = req.fuel !== undefined ? BigInt(req.fuel) : UNLIMITED_FUEL;
  const out: CoreRunResult = { status: 'succeeded', logs: '' };
  try {
    const began = performance.now();
    instance = new WebAssembly.Instance(req.module, wasi.imports);
    out.start = { kind: 'prewarmed', initMs: performance.now() - began };
    const exports = instance.exports as Record<string, unknown>;
    memory = (exports.memory ?? Object.values(exports).find((e) => e instanceof WebAssembly.Memory)) as
      | WebAssembly.Memory
      | undefined;
    wasi.attach(memory);
    if (req.metered) (exports[FUEL_GLOBAL] as WebAssembly.Global).value = fuelLimit;
    if (req.reactor) (exports._initialize as () => void)();
    if (req.style === 'command') {
      try {
        (exports._start as () => void)();
      } catch (error) {
        if (!(error instanceof GuestExit) || error.exitCode !== 0) throw error;
      }
      const text = Buffer.concat(stdout).toString('utf8');
      try {
        out.result = JSON.parse(text);
      } catch {
        out.result = text;
        out.resultIsText = true;
      }
    } else {
      out.result = callEntry(exports[req.entry] as (...args: unknown[]) => unknown, req.inputJson);
    }
  } catch (error) {
    Object.assign(out, classify(error, req, instance, memory));
  } finally {
    wasi.close();
  }
  const cpu = process.threadCpuUsage(cpuStart);
  out.cpuMs = (cpu.user + cpu.system) / 1000;
  out.logs = logs.text() + decoder.decode();
  if (memory) out.memoryBytes = memory.buffer.byteLength;
  if (req.metered && instance) {
    const left = (instance.exports[FUEL_GLOBAL] as WebAssembly.Global).value as bigint;
    out.fuelConsumed = Number(left < 0n ? fuelLimit : fuelLimit - left);
  }
  return out;
}

function classify(
  error: unknown,
  req: CoreRunRequest,
  instance: WebAssembly.Instance | undefined,
  memory: WebAssembly.Memory | undefined,
): Partial<CoreRunResult> {
  if (error instanceof StopGuest) {
    const status = error.code === 'result_too_large' ? 'killed' : 'failed';
    return { status, error: { code: error.code, message: error.message } };
  }
  const atCap = memory !== undefined && nearCap(memory.buffer.byteLength, req.memoryCapBytes);
  if (error instanceof GuestExit) {
    if (atCap) return memoryExceeded(req, error.exitCode);
    return {
      status: 'failed',
      exitCode: error.exitCode,
      error: { code: 'function_error', message: `the module exited with code ${error.exitCode}` },
    };
  }
  if (req.metered && instance) {
    const left = (instance.exports[FUEL_GLOBAL] as WebAssembly.Global).value as bigint;
    if (left < 0n) {
      return {
        status: 'killed',
        error: {
          code: 'fuel_exhausted',
          message: `the function used all of its fuel (${req.fuel ?? 'unlimited'}); raise limits.fuel`,
        },
      };
    }
  }
  if (instance === undefined && error instanceof WebAssembly.LinkError) {
    return {
      status: 'failed',
      error: { code: 'function_error', message: `the module cannot be linked: ${error.message}` },
    };
  }
  if (atCap) return memoryExceeded(req);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RangeError && /memory/i.test(message)) return memoryExceeded(req);
  return { status: 'failed', error: { code: 'function_error', message: `the module trapped: ${message}` } };
}

/**
 * A guest whose allocation failed dies close to its cap rather than exactly at it (its last
 * request did not fit), so "near" is within an eighth of the cap or 2 MiB, whichever is larger,
 * but never more than a quarter of the cap.
 */
export function nearCap(bytes: number, capBytes: number): boolean {
  return bytes >= capBytes - Math.min(Math.max(capBytes / 8, 2 * 1024 ** 2), capBytes / 4);
}

function memoryExceeded(req: CoreRunRequest, exitCode?: number): Partial<CoreRunResult> {
  const mib = req.memoryCapBytes / 1024 ** 2;
  const out: Partial<CoreRunResult> = {
    status: 'memory_exceeded',
    error: {
      code: 'memory_exceeded',
      message: `the module failed at or near its memory limit (${mib} MiB); raise limits.memoryMb`,
    },
  };
  if (exitCode !== undefined) out.exitCode = exitCode;
  return out;
}

/** entry style: the input (a JSON array of numbers, one number, or null) becomes the arguments. */
function callEntry(fn: (...args: unknown[]) => unknown, inputJson: string): unknown {
  const input = JSON.parse(inputJson) as unknown;
  const args = input === null || input === undefined ? [] : Array.isArray(input) ? input : [input];
  if (!args.every((a) => typeof a === 'number')) {
    throw new StopGuest('invalid_request', 'a plain module takes a JSON array of numbers as its input');
  }
  let value: unknown;
  try {
    value = fn(...args);
  } catch (error) {
    // i64 parameters want BigInt; retry once with integers as BigInt.
    if (!(error instanceof TypeError && /BigInt/i.test(error.message))) throw error;
    value = fn(...args.map((a) => (Number.isInteger(a) ? BigInt(a as number) : a)));
  }
  return plain(value);
}

function plain(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(plain);
  return value;
}
