/**
 * The runner's side of the JS child (js-host.ts): starts it as the sandbox user, sends it one
 * invocation at a time on fd 3, validates every frame it sends back on fd 4, and turns its raw
 * stdout/stderr into log text up to the invocation's fence (fence.ts). Anything the child sends
 * that breaks the protocol kills it and ends the invocation `protocol_violation`; the child dying
 * ends it `sandbox_crashed`. Either way the host then destroys the container.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { encodeFrame, FrameDecoder } from '../framing.ts';
import { checkChildMessage } from './child-messages.ts';
import { FenceScanner } from './fence.ts';
import { asSandboxUser, killStragglers } from './procs.ts';
import {
  type ChildMessage,
  type ChildRun,
  capText,
  childFrameLimit,
  type RunMessage,
  type RunnerResult,
} from './protocol.ts';

export type LogSink = (stream: 'stdout' | 'stderr', text: string) => void;
type Stream = 'stdout' | 'stderr';
type ChildResult = Extract<ChildMessage, { t: 'result' }>;

const JS_HOST = new URL('./js-host.ts', import.meta.url).pathname;
/** How long to wait for a fence after the result before giving up on late raw output. */
const FENCE_WAIT_MS = 2000;

interface Current {
  id: string;
  maxResultBytes: number;
  onLog: LogSink;
  resolve: (result: RunnerResult) => void;
  result?: ChildResult;
  waiting: Set<Stream>;
  timer?: NodeJS.Timeout;
}

export interface JsWorkerOptions {
  heapMb: number;
  /** The child died or broke the protocol while no invocation ran. */
  onFatal: (reason: string) => void;
}

/**
 * The egress proxy variables the host put in the container's environment (a function granted
 * network): Node reads NODE_USE_ENV_PROXY when a process starts, so the js-host gets them then.
 */
const PROXY_VARIABLES = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'http_proxy',
  'https_proxy',
  'NO_PROXY',
  'no_proxy',
  'NODE_USE_ENV_PROXY',
];
function proxyVariables(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROXY_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export class JsWorker {
  readonly #options: JsWorkerOptions;
  #child: ChildProcess | undefined;
  #decoder = new FrameDecoder(childFrameLimit(1024 * 1024));
  #current: Current | undefined;
  #starting: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #broken: string | undefined;
  #scanners: Record<Stream, FenceScanner>;
  /** Raw output bytes that came after their invocation ended (reported with the next result). */
  late = 0;

  constructor(options: JsWorkerOptions) {
    this.#options = options;
    const scanner = (stream: Stream) =>
      new FenceScanner(
        (text) => this.#current?.onLog(stream, text),
        (bytes) => {
          this.late += bytes;
        },
      );
    this.#scanners = { stdout: scanner('stdout'), stderr: scanner('stderr') };
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): Promise<void> {
    const { file, args } = asSandboxUser(process.execPath, [
      '--no-warnings',
      `--max-old-space-size=${this.#options.heapMb}`,
      JS_HOST,
    ]);
    const child = spawn(file, args, {
      cwd: '/tmp',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', ...proxyVariables() },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    const ready = new Promise<void>((resolve, reject) => {
      this.#starting = { resolve, reject };
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = child[stream] as Readable;
      readable.on('data', (chunk: Buffer) => this.#raw(stream, chunk));
      readable.on('end', () => this.#rawEnded(stream));
      readable.on('error', () => this.#rawEnded(stream));
    }
    const frames = child.stdio[4] as Readable;
    frames.on('data', (chunk: Buffer) => this.#frames(chunk));
    frames.on('error', () => {});
    (child.stdio[3] as Writable).on('error', () => {});
    child.on('error', (error) => this.#died(`the JS worker could not start: ${error.message}`));
    child.on('exit', (code, signal) =>
      this.#died(
        signal ? `the JS worker process was killed by ${signal}` : `the JS worker process exited with code ${code}`,
        code,
        signal,
      ),
    );
    return ready;
  }

  /** Run one invocation in the child; resolves with the result the runner reports to the host. */
  run(message: RunMessage, onLog: LogSink): Promise<RunnerResult> {
    if (this.#broken || !this.#child) {
      return Promise.resolve(
        this.#failure(message.id, 'sandbox_crashed', this.#broken ?? 'the JS worker is not running'),
      );
    }
    const fence = `\u0000strata-fence-${randomBytes(12).toString('hex')}\u0000`;
    this.#decoder.maxFrameBytes = childFrameLimit(message.maxResultBytes);
    this.#scanners.stdout.open(fence);
    this.#scanners.stderr.open(fence);
    const frame: ChildRun = {
      t: 'run',
      id: message.id,
      digest: message.digest,
      ...(message.source !== undefined ? { source: message.source } : {}),
      input: message.input,
      env: message.env,
      fn: { name: message.functionName, version: message.functionVersion },
      deadline: message.deadline,
      maxResultBytes: message.maxResultBytes,
      fence,
    };
    const input = this.#child.stdio[3] as Writable;
    return new Promise<RunnerResult>((resolve) => {
      this.#current = { id: message.id, maxResultBytes: message.maxResultBytes, onLog, resolve, waiting: new Set() };
      input.write(encodeFrame(frame));
    });
  }

  #failure(
    id: string,
    code: 'protocol_violation' | 'sandbox_crashed',
    message: string,
    exit?: { code?: number | null; signal?: string | null },
  ): RunnerResult {
    return {
      t: 'result',
      id,
      ok: false,
      code,
      message: capText(message),
      ...(exit?.code !== undefined && exit.code !== null ? { exitCode: exit.code } : {}),
      ...(exit?.signal ? { signal: exit.signal } : {}),
    };
  }

  #frames(chunk: Buffer): void {
    if (this.#broken) return;
    let values: unknown[];
    try {
      values = this.#decoder.push(chunk);
    } catch (error) {
      this.#violation(`a malformed frame (${(error as Error).message})`);
      return;
    }
    for (const value of values) {
      const checked = checkChildMessage(value, this.#current?.maxResultBytes ?? 0);
      if (!checked.ok) {
        this.#violation(checked.reason);
        return;
      }
      this.#handle(checked.message);
      if (this.#broken) return;
    }
  }

  #handle(message: ChildMessage): void {
    if (message.t === 'ready') {
      if (!this.#starting) {
        this.#violation('a ready frame after start-up');
        return;
      }
      this.#starting.resolve();
      this.#starting = undefined;
      return;
    }
    const current = this.#current;
    if (this.#starting || !current || current.result || message.id !== current.id) {
      this.#violation(`a ${message.t} frame for no running invocation`);
      return;
    }
    if (message.t === 'log') {
      current.onLog(message.stream, message.data);
      return;
    }
    current.result = message;
    this.late += message.late;
    for (const [i, stream] of (['stdout', 'stderr'] as const).entries()) {
      if (message.fenced[i] && this.#scanners[stream].state === 'live') current.waiting.add(stream);
    }
    if (current.waiting.size === 0) this.#finish();
    else current.timer = setTimeout(() => this.#finish(), FENCE_WAIT_MS);
  }

  #raw(stream: Stream, chunk: Buffer): void {
    const fenced = this.#scanners[stream].push(chunk);
    const current = this.#current;
    if (fenced && current?.waiting.delete(stream) && current.result && current.waiting.size === 0) this.#finish();
  }

  #rawEnded(stream: Stream): void {
    this.#scanners[stream].close();
    const current = this.#current;
    if (current?.waiting.delete(stream) && current.result && current.waiting.size === 0) this.#finish();
  }

  #finish(): void {
    const current = this.#current;
    if (!current?.result) return;
    clearTimeout(current.timer);
    this.#scanners.stdout.close();
    this.#scanners.stderr.close();
    // Processes the function started (child_process) do not outlive its invocation.
    killStragglers(this.#child?.pid ? [this.#child.pid] : []);
    this.#current = undefined;
    const r = current.result;
    if (r.ok) {
      if (Buffer.byteLength(r.json) > current.maxResultBytes) {
        current.resolve({
          t: 'result',
          id: r.id,
          ok: false,
          code: 'result_too_large',
          message: `the result is larger than ${current.maxResultBytes} bytes of JSON`,
        });
      } else current.resolve({ t: 'result', id: r.id, ok: true, json: r.json });
    } else current.resolve({ t: 'result', id: r.id, ok: false, code: r.code, message: capText(r.message) });
  }

  #violation(reason: string): void {
    if (this.#broken) return;
    this.#broken = `the JS worker broke the runner protocol: ${reason}`;
    this.#child?.kill('SIGKILL');
    this.#endWith(this.#failure(this.#current?.id ?? '', 'protocol_violation', this.#broken));
  }

  #died(reason: string, code?: number | null, signal?: string | null): void {
    if (this.#broken) return;
    this.#broken = reason;
    this.#endWith(this.#failure(this.#current?.id ?? '', 'sandbox_crashed', reason, { code, signal }));
  }

  #endWith(result: RunnerResult): void {
    if (this.#starting) {
      this.#starting.reject(new Error(this.#broken));
      this.#starting = undefined;
      return;
    }
    const current = this.#current;
    this.#current = undefined;
    if (current) {
      clearTimeout(current.timer);
      this.#scanners.stdout.close();
      this.#scanners.stderr.close();
      current.resolve(result);
    } else this.#options.onFatal(this.#broken ?? 'the JS worker failed');
  }
}
