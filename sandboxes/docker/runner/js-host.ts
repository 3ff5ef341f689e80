/**
 * The JS child of a warm JS container ("js host"): one persistent Node process per container,
 * started by the runner as uid 65534 with no capabilities, that imports the function's module
 * once and calls its default export for each invocation (so warm state lives across invocations
 * of that one function; containers are never shared between functions).
 *
 * Channels: fd 3 brings `run` frames from the runner, fd 4 takes `log` and `result` frames back
 * (blocking writes, so a log flood is throttled by the runner reading it). fd 1 and fd 2 are
 * pipes the runner reads as raw log text. User code can write to any of them; the runner
 * validates fd 4 and only frames fd 1/2 as text, and the host protocol is out of reach.
 *
 * Per invocation: `ctx` is the contracted frozen object; console output, ctx.log and
 * process.stdout/stderr writes are attributed through AsyncLocalStorage to the invocation whose
 * code made them, and dropped (and counted) once it has ended; timers it left are cleared.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFileSync, writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { Socket } from 'node:net';
import timers from 'node:timers';
import { promisify } from 'node:util';
import { encodeFrame, FrameDecoder } from '../framing.ts';
import { type ChildFailCode, type ChildMessage, type ChildRun, capText, LOG_CHUNK_CHARS } from './protocol.ts';

const IN_FD = 3;
const OUT_FD = 4;

// Under memory pressure the kernel should pick this process, not the runner.
try {
  writeFileSync('/proc/self/oom_score_adj', '1000');
} catch {
  // not fatal: the OOM counter tells the host either way
}

/** write(2) all of `buf`, riding out EAGAIN on a non-blocking pipe. */
function writeAllSync(fd: number, buf: Buffer): void {
  let offset = 0;
  while (offset < buf.length) {
    try {
      offset += writeSync(fd, buf, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function send(message: ChildMessage): void {
  try {
    writeAllSync(OUT_FD, encodeFrame(message));
  } catch {
    // The runner is gone: nothing can be reported any more.
    process.exit(70);
  }
}

interface Inv {
  id: string;
  ended: boolean;
  timers: { kind: 'timeout' | 'interval' | 'immediate'; handle: unknown }[];
}

const als = new AsyncLocalStorage<Inv>();
let current: Inv | undefined;
/** Log bytes dropped because the invocation that made them had ended (reported with the next result). */
let late = 0;

function emit(inv: Inv | undefined, stream: 'stdout' | 'stderr', text: string): void {
  if (text.length === 0) return;
  if (!inv || inv.ended || inv !== current) {
    late += Buffer.byteLength(text);
    return;
  }
  for (let i = 0; i < text.length; i += LOG_CHUNK_CHARS) {
    send({ t: 'log', id: inv.id, stream, data: text.slice(i, i + LOG_CHUNK_CHARS) });
  }
}

/**
 * One log line, formatted as every JS tier formats it (test/sandboxes/js-ctx-conformance.test.ts):
 * strings as they are, errors as their stack (headed by name: message), other objects as JSON
 * (String() when they cannot be), the rest with String(); warn/error/debug lines are prefixed
 * with their level in capitals, log/info lines and ctx.log are not.
 */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) {
    const head = `${value.name}: ${value.message}`;
    const stack = typeof value.stack === 'string' ? value.stack.replace(/\n$/, '') : '';
    return stack === '' ? head : stack.startsWith(head) ? stack : `${head}\n${stack}`;
  }
  try {
    if (typeof value === 'object' && value !== null) return JSON.stringify(value) ?? String(value);
    return String(value);
  } catch {
    try {
      return String(value);
    } catch {
      return '[unprintable]';
    }
  }
}

function logLine(level: 'log' | 'info' | 'warn' | 'error' | 'debug', args: readonly unknown[]): string {
  const prefix = level === 'log' || level === 'info' ? '' : `${level.toUpperCase()} `;
  return `${prefix}${args.map(formatValue).join(' ')}\n`;
}

// console.* and process.stdout/stderr.write become log frames of the invocation that wrote them.
for (const [name, level, stream] of [
  ['log', 'log', 'stdout'],
  ['info', 'info', 'stdout'],
  ['debug', 'debug', 'stdout'],
  ['dir', 'log', 'stdout'],
  ['warn', 'warn', 'stderr'],
  ['error', 'error', 'stderr'],
  ['trace', 'debug', 'stderr'],
] as const) {
  (console as unknown as Record<string, (...args: unknown[]) => void>)[name] = (...args: unknown[]) =>
    emit(als.getStore(), stream, logLine(level, args));
}
const writeAsLog =
  (stream: 'stdout' | 'stderr') =>
  (chunk: unknown, ...rest: unknown[]): boolean => {
    emit(als.getStore(), stream, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
process.stdout.write = writeAsLog('stdout') as typeof process.stdout.write;
process.stderr.write = writeAsLog('stderr') as typeof process.stderr.write;

// Timers a function sets belong to its invocation and are cleared when it ends (globals and
// `node:timers` alike; timers/promises resolve into an ended invocation, whose output is dropped).
const real = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  setImmediate: globalThis.setImmediate,
  clearImmediate: globalThis.clearImmediate,
};
function clearOne(kind: Inv['timers'][number]['kind'], handle: unknown): void {
  if (kind === 'timeout') real.clearTimeout(handle as NodeJS.Timeout);
  else if (kind === 'interval') real.clearInterval(handle as NodeJS.Timeout);
  else real.clearImmediate(handle as NodeJS.Immediate);
}
function tracked<T>(kind: Inv['timers'][number]['kind'], handle: T): T {
  const inv = als.getStore();
  if (!inv) return handle;
  if (inv.ended) clearOne(kind, handle);
  else inv.timers.push({ kind, handle });
  return handle;
}
const wrapped = {
  setTimeout: Object.assign(
    (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      tracked('timeout', real.setTimeout(fn, ms, ...args)),
    { [promisify.custom]: (real.setTimeout as unknown as Record<symbol, unknown>)[promisify.custom] },
  ),
  setInterval: (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    tracked('interval', real.setInterval(fn, ms, ...args)),
  setImmediate: Object.assign(
    (fn: (...a: unknown[]) => void, ...args: unknown[]) => tracked('immediate', real.setImmediate(fn, ...args)),
    { [promisify.custom]: (real.setImmediate as unknown as Record<symbol, unknown>)[promisify.custom] },
  ),
};
Object.assign(globalThis, wrapped);
Object.assign(timers, wrapped);
syncBuiltinESMExports();

function endInvocation(inv: Inv): void {
  inv.ended = true;
  if (current === inv) current = undefined;
  for (const { kind, handle } of inv.timers) clearOne(kind, handle);
  inv.timers = [];
}

/** Describe a thrown value without trusting it (getters may throw). */
function describe(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
    return String(error);
  } catch {
    return 'a thrown value that cannot be described';
  }
}

type Fn = (input: unknown, ctx: unknown) => unknown;
const modules = new Map<string, Fn>();

async function load(m: ChildRun): Promise<Fn> {
  const cached = modules.get(m.digest);
  if (cached) return cached;
  if (m.source === undefined) throw new Error('runner protocol: source missing for an unseen digest');
  const url = `data:text/javascript;base64,${Buffer.from(m.source).toString('base64')}`;
  const mod = (await import(url)) as { default?: unknown };
  if (typeof mod.default !== 'function') throw new Error('the module has no default export function');
  const fn = mod.default as Fn;
  modules.set(m.digest, fn);
  return fn;
}

type Outcome = { ok: true; json: string } | { ok: false; code: ChildFailCode; message: string };

async function invoke(m: ChildRun, inv: Inv): Promise<Outcome> {
  try {
    Object.assign(process.env, m.env);
    const fn = await load(m);
    const input = JSON.parse(m.input) as unknown;
    const ctx = Object.freeze({
      executionId: m.id,
      function: Object.freeze({ name: m.fn.name, version: m.fn.version }),
      deadline: m.deadline,
      log: (...args: unknown[]) => emit(inv, 'stdout', logLine('log', args)),
    });
    const value = await fn(input, ctx);
    let json: string | undefined;
    try {
      json = JSON.stringify(value === undefined ? null : value);
    } catch (error) {
      return {
        ok: false,
        code: 'result_not_serializable',
        message: capText(`the result cannot be represented as JSON: ${describe(error)}`),
      };
    }
    json ??= 'null';
    if (Buffer.byteLength(json) > m.maxResultBytes) {
      return {
        ok: false,
        code: 'result_too_large',
        message: `the result is larger than ${m.maxResultBytes} bytes of JSON`,
      };
    }
    return { ok: true, json };
  } catch (error) {
    let stack: string | undefined;
    try {
      stack = error instanceof Error ? error.stack : undefined;
    } catch {}
    if (typeof stack === 'string') emit(inv, 'stderr', `${stack}\n`);
    return { ok: false, code: 'function_error', message: capText(describe(error)) };
  }
}

function writeFence(fd: number, fence: string): boolean {
  try {
    writeAllSync(fd, Buffer.from(fence, 'latin1'));
    return true;
  } catch {
    return false;
  }
}

async function run(m: ChildRun): Promise<void> {
  const inv: Inv = { id: m.id, ended: false, timers: [] };
  current = inv;
  const outcome = await als.run(inv, () => invoke(m, inv));
  endInvocation(inv);
  const fenced: [boolean, boolean] = [writeFence(1, m.fence), writeFence(2, m.fence)];
  const dropped = late;
  late = 0;
  send({ t: 'result', id: m.id, ...outcome, late: dropped, fenced } as ChildMessage);
}

process.on('uncaughtException', (error) => {
  let text: string;
  try {
    text = error instanceof Error ? (error.stack ?? describe(error)) : describe(error);
  } catch {
    text = 'an exception that cannot be described';
  }
  emit(als.getStore(), 'stderr', `uncaught: ${text}\n`);
});
process.on('unhandledRejection', (reason) =>
  emit(als.getStore(), 'stderr', `unhandled rejection: ${describe(reason)}\n`),
);

const decoder = new FrameDecoder(512 * 1024 * 1024);
const channel = new Socket({ fd: IN_FD, readable: true, writable: false });
let queue = Promise.resolve();
channel.on('data', (chunk: Buffer) => {
  let messages: unknown[];
  try {
    messages = decoder.push(chunk);
  } catch {
    process.exit(71);
  }
  for (const message of messages as ChildRun[]) {
    if (message?.t === 'run') queue = queue.then(() => run(message));
  }
});
// The runner closed the channel: nothing more will come.
channel.on('end', () => process.exit(0));
channel.on('error', () => process.exit(0));
send({ t: 'ready' });
