/**
 * The resident runner of a warm container (under tini, as uid 0 with a few capabilities). It
 * reads invocations as length-prefixed frames on stdin and answers on stdout (see ../framing.ts
 * and ./protocol.ts), one invocation at a time, so a warm invocation costs no container start.
 *
 * It never runs user code itself: JS runs in a persistent child (js-worker.ts / js-host.ts),
 * scripts in a child per invocation (scripts.ts), all as uid 65534 without capabilities, and
 * their output reaches the host only as log frames the runner makes. The container's stdin and
 * stdout belong to the runner and tini, which user processes cannot open through /proc.
 *
 * It runs with the image's own Node (type stripping), so it imports only node: built-ins and
 * files copied beside it. Usage: main.ts --kind=js|script [--child-heap-mb=N]
 */
import { format } from 'node:util';
import { encodeFrame, FrameDecoder } from '../framing.ts';
import { JsWorker } from './js-worker.ts';
import type { HostMessage, RunMessage, RunnerMessage, RunnerResult } from './protocol.ts';
import { capText } from './protocol.ts';
import { prepareScriptsDir, runScript } from './scripts.ts';

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const kind = arg('kind') === 'script' ? 'script' : 'js';
const childHeapMb = Math.max(16, Number(arg('child-heap-mb')) || 256);

const out = process.stdout;
const rawWrite = out.write.bind(out) as (chunk: Uint8Array) => boolean;
const send = (message: RunnerMessage): void => {
  rawWrite(encodeFrame(message));
};
// stdout carries the protocol alone: any stray print of the runner's own goes to stderr.
const toStderr = (...args: unknown[]) => process.stderr.write(`${format(...args)}\n`);
for (const name of ['log', 'info', 'debug', 'warn', 'error', 'trace', 'dir'] as const) {
  (console as unknown as Record<string, (...args: unknown[]) => void>)[name] = toStderr;
}
process.stdout.write = ((chunk: unknown) => process.stderr.write(String(chunk))) as typeof process.stdout.write;

/** Past this much unsent output, log text is dropped (and counted) instead of buffered. */
const LOG_BACKLOG_BYTES = 4 * 1024 * 1024;
let current: { id: string; dropped: number } | null = null;

function forwardLog(stream: 'stdout' | 'stderr', data: string): void {
  if (!current || data.length === 0) return;
  if (out.writableLength > LOG_BACKLOG_BYTES) {
    current.dropped += Buffer.byteLength(data);
    return;
  }
  flushDropped();
  send({ t: 'log', id: current.id, stream, data });
}

function flushDropped(): void {
  if (current && current.dropped > 0) {
    send({
      t: 'log',
      id: current.id,
      stream: 'stderr',
      data: `\n…[runner dropped ${current.dropped} bytes of output]…\n`,
    });
    current.dropped = 0;
  }
}

function fatal(reason: string): never {
  process.stderr.write(`strata runner: ${reason}\n`);
  process.exit(1);
}

const js = kind === 'js' ? new JsWorker({ heapMb: childHeapMb, onFatal: fatal }) : undefined;

async function runOne(message: RunMessage): Promise<RunnerResult> {
  if (message.kind !== kind) throw new Error(`this is a ${kind} runner; it cannot run a ${message.kind} function`);
  if (js) {
    const result = await js.run(message, forwardLog);
    const late = js.late;
    js.late = 0;
    return late > 0 ? { ...result, late } : result;
  }
  return runScript(message, forwardLog);
}

async function handle(message: HostMessage): Promise<void> {
  if (message.t === 'ping') {
    send({ t: 'pong', id: message.id, rssBytes: process.memoryUsage.rss() });
    return;
  }
  if (message.t !== 'run') return;
  current = { id: message.id, dropped: 0 };
  let result: RunnerResult;
  try {
    result = await runOne(message);
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    result = { t: 'result', id: message.id, ok: false, code: 'function_error', message: capText(text) };
  }
  flushDropped();
  send(result);
  current = null;
  // A JS child that broke the protocol or died is gone: so is this container (the host removes it).
  if (!result.ok && (result.code === 'protocol_violation' || result.code === 'sandbox_crashed')) {
    out.end(() => process.exit(1));
  }
}

process.on('uncaughtException', (error) => fatal(`uncaught: ${error?.stack ?? error}`));
process.on('unhandledRejection', (error) => fatal(`unhandled rejection: ${String(error)}`));

async function main(): Promise<void> {
  prepareScriptsDir();
  if (js) await js.start();
  const decoder = new FrameDecoder(512 * 1024 * 1024);
  let queue = Promise.resolve();
  process.stdin.on('data', (chunk: Buffer) => {
    let messages: unknown[];
    try {
      messages = decoder.push(chunk);
    } catch (error) {
      fatal(`the host sent a malformed frame: ${(error as Error).message}`);
    }
    for (const message of messages as HostMessage[]) queue = queue.then(() => handle(message));
  });
  // The host closed our stdin: nothing more will come.
  process.stdin.on('end', () => process.exit(0));
  send({ t: 'ready', pid: process.pid, node: process.version });
}

main().catch((error: unknown) => fatal(`could not start: ${error instanceof Error ? error.message : String(error)}`));
