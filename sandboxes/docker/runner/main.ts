/**
 * The resident runner: PID 1 of a warm container. It reads invocations as length-prefixed frames
 * on stdin and answers on stdout (see ../framing.ts and ./protocol.ts), one invocation at a time,
 * so a warm invocation costs no container start. It runs inside the container with the image's
 * own Node (type stripping), so it imports only node: built-ins and files copied beside it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { format } from 'node:util';
import { encodeFrame, FrameDecoder } from '../framing.ts';
import type { HostMessage, RunMessage, RunnerMessage } from './protocol.ts';

const out = process.stdout;
const rawWrite = out.write.bind(out) as (chunk: Uint8Array) => boolean;
const send = (message: RunnerMessage): void => {
  rawWrite(encodeFrame(message));
};

/** Past this much unsent output, log text is dropped (and counted) instead of buffered. */
const LOG_BACKLOG_BYTES = 4 * 1024 * 1024;
let current: { id: string; dropped: number } | null = null;

function forwardLog(stream: 'stdout' | 'stderr', data: string): void {
  if (!current) {
    send({ t: 'log', id: '', stream, data });
    return;
  }
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

// User code must not write raw bytes into the protocol stream: route everything to log frames.
for (const [name, stream] of [
  ['log', 'stdout'],
  ['info', 'stdout'],
  ['debug', 'stdout'],
  ['warn', 'stderr'],
  ['error', 'stderr'],
  ['trace', 'stderr'],
] as const) {
  (console as unknown as Record<string, (...args: unknown[]) => void>)[name] = (...args: unknown[]) =>
    forwardLog(stream, `${format(...args)}\n`);
}
const writeAsLog =
  (stream: 'stdout' | 'stderr') =>
  (chunk: unknown, ...rest: unknown[]): boolean => {
    forwardLog(stream, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
process.stdout.write = writeAsLog('stdout') as typeof process.stdout.write;
process.stderr.write = writeAsLog('stderr') as typeof process.stderr.write;

const modules = new Map<string, (input: unknown, ctx: unknown) => unknown>();
const scripts = new Map<string, string>();
const INTERPRETERS: Record<string, string> = {
  bash: '/bin/bash',
  sh: '/bin/sh',
  python3: '/usr/bin/python3',
  node: process.execPath,
};
const EXTENSIONS: Record<string, string> = { bash: 'sh', sh: 'sh', python3: 'py', node: 'mjs' };

async function loadModule(message: RunMessage): Promise<(input: unknown, ctx: unknown) => unknown> {
  const cached = modules.get(message.digest);
  if (cached) return cached;
  if (message.source === undefined) throw new Error('runner protocol: source missing for an unseen digest');
  const url = `data:text/javascript;base64,${Buffer.from(message.source).toString('base64')}`;
  const mod = (await import(url)) as { default?: unknown };
  if (typeof mod.default !== 'function') throw new Error('the module has no default export function');
  const fn = mod.default as (input: unknown, ctx: unknown) => unknown;
  modules.set(message.digest, fn);
  return fn;
}

async function runJs(message: RunMessage): Promise<void> {
  const fn = await loadModule(message);
  const input = JSON.parse(message.input) as unknown;
  const ctx = {
    invocationId: message.id,
    functionName: message.functionName,
    env: { ...message.env },
    log: (...args: unknown[]) => forwardLog('stdout', `${format(...args)}\n`),
  };
  const value = await fn(input, ctx);
  let json: string | undefined;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    finish({ t: 'result', id: message.id, ok: false, code: 'result_not_serializable', message: String(error) });
    return;
  }
  finish({ t: 'result', id: message.id, ok: true, json });
}

function scriptPath(message: RunMessage): string {
  const cached = scripts.get(message.digest);
  if (cached) return cached;
  if (message.source === undefined) throw new Error('runner protocol: source missing for an unseen digest');
  mkdirSync('/tmp/strata-scripts', { recursive: true, mode: 0o700 });
  const path = `/tmp/strata-scripts/${message.digest}.${EXTENSIONS[message.interpreter ?? 'sh'] ?? 'txt'}`;
  writeFileSync(path, message.source, { mode: 0o400 });
  scripts.set(message.digest, path);
  return path;
}

/**
 * Every process in the container runs as our user inside its own PID namespace, so kill(-1)
 * reaches everything else in it (escaped background jobs, setsid'd forks) but init (tini, which
 * reaps them) and nothing outside it.
 */
function killStragglers(): void {
  try {
    process.kill(-1, 'SIGKILL');
  } catch {
    // ESRCH: nothing left
  }
}

function runScript(message: RunMessage): Promise<void> {
  const interpreter = INTERPRETERS[message.interpreter ?? ''];
  if (!interpreter) throw new Error(`unknown interpreter ${JSON.stringify(message.interpreter)}`);
  const path = scriptPath(message);
  const cwd = `/tmp/work-${message.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
  mkdirSync(cwd, { recursive: true, mode: 0o700 });
  return new Promise((resolve) => {
    // Its own process group, so the whole tree (background jobs too) can be killed at once.
    const child = spawn(interpreter, [path], {
      cwd,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8', ...message.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > message.maxResultBytes) {
        tooLarge = true;
        killGroup();
        child.stdout.destroy();
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => forwardLog('stderr', text));
    child.stdin.on('error', () => {});
    child.stdin.end(message.input);
    const settle = (result: RunnerMessage) => {
      if (settled) return;
      settled = true;
      killGroup();
      killStragglers();
      rmSync(cwd, { recursive: true, force: true });
      finish(result);
      resolve();
    };
    const conclude = () => {
      const code = exit?.code ?? null;
      const signal = exit?.signal ?? null;
      if (tooLarge) {
        settle({
          t: 'result',
          id: message.id,
          ok: false,
          code: 'result_too_large',
          message: `the script printed more than ${message.maxResultBytes} bytes on stdout`,
        });
      } else if (code === 0) {
        settle({ t: 'result', id: message.id, ok: true, text: Buffer.concat(chunks).toString('utf8') });
      } else {
        settle({
          t: 'result',
          id: message.id,
          ok: false,
          code: 'function_error',
          message: signal ? `the script was killed by ${signal}` : `the script exited with code ${code}`,
          ...(code !== null ? { exitCode: code } : {}),
          ...(signal ? { signal } : {}),
        });
      }
    };
    child.on('error', (error) =>
      settle({ t: 'result', id: message.id, ok: false, code: 'function_error', message: error.message }),
    );
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Background jobs may hold stdout open: give the pipes a moment, then kill them so the
      // pipes close ('close' concludes with everything read); a last resort if even that stalls.
      setTimeout(() => {
        if (settled) return;
        killGroup();
        killStragglers();
        setTimeout(conclude, 2000).unref();
      }, 200).unref();
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      conclude();
    });
  });
}

function finish(message: RunnerMessage): void {
  flushDropped();
  send(message);
  current = null;
}

async function handle(message: HostMessage): Promise<void> {
  if (message.t === 'ping') {
    send({ t: 'pong', id: message.id, rssBytes: process.memoryUsage.rss() });
    return;
  }
  current = { id: message.id, dropped: 0 };
  try {
    if (message.kind === 'js') await runJs(message);
    else await runScript(message);
  } catch (error) {
    const err = error as Error;
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(error);
    if (err instanceof Error && err.stack) forwardLog('stderr', `${err.stack}\n`);
    finish({ t: 'result', id: message.id, ok: false, code: 'function_error', message: text });
  }
}

process.on('uncaughtException', (error) => forwardLog('stderr', `uncaught: ${error?.stack ?? error}\n`));
process.on('unhandledRejection', (error) => forwardLog('stderr', `unhandled rejection: ${String(error)}\n`));

const decoder = new FrameDecoder(256 * 1024 * 1024);
let queue = Promise.resolve();
process.stdin.on('data', (chunk: Buffer) => {
  for (const message of decoder.push(chunk) as HostMessage[]) {
    queue = queue.then(() => handle(message));
  }
});
// The host closed our stdin: nothing more will come.
process.stdin.on('end', () => process.exit(0));
send({ t: 'ready', pid: process.pid, node: process.version });
