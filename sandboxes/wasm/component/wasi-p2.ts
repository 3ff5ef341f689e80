/**
 * Our own deny-by-default WASI 0.2 imports for transpiled components (never preview2-shim's
 * defaults, which show the host's environment and let exit() end the host process): an empty
 * environment and argv, empty stdin, stdout/stderr into the log sink, clocks and random, exit
 * that ends only the guest, no preopened directories, no sockets, no HTTP. The only call that
 * waits is a clock pollable (a timer of the guest's): it really sleeps (Atomics.wait in the guest
 * thread) until it is due, never past the invocation's deadline.
 */
import { randomBytes, randomFillSync } from 'node:crypto';

/** WASI 0.2 interfaces we implement; a component importing anything else is refused at upload. */
export const P2_INTERFACES = [
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
  'wasi:clocks/monotonic-clock',
  'wasi:clocks/wall-clock',
  'wasi:filesystem/preopens',
  'wasi:filesystem/types',
  'wasi:io/error',
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:random/random',
  'wasi:random/insecure',
  'wasi:random/insecure-seed',
] as const;

/** Thrown by wasi:cli/exit: ends the guest's call, never the host. */
export class ComponentExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`component exited with code ${exitCode}`);
    this.exitCode = exitCode;
  }
}

/** Thrown by a wait that would end after the invocation's deadline: the run is a timeout. */
export class ComponentDeadline extends Error {
  constructor() {
    super('the component waited past its deadline');
  }
}

export interface P2Options {
  onStdout: (bytes: Uint8Array) => void;
  onStderr: (bytes: Uint8Array) => void;
  /** Epoch ms: no wait lasts past it (the wait throws ComponentDeadline instead). */
  deadline?: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Sleep `ms` in this thread; the guest thread is terminated from outside on a deadline or cancel. */
function sleep(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/** The imports object for a jco `instantiate()`, keyed by unversioned interface name. */
export function createWasiP2(options: P2Options): Record<string, Record<string, unknown>> {
  class IoError {
    readonly message: string;
    constructor(message: string) {
      this.message = message;
    }
    toDebugString(): string {
      return this.message;
    }
  }
  const start = process.hrtime.bigint();
  const now = () => process.hrtime.bigint() - start;
  /** Waits until `due` (monotonic ns since start), never past the deadline. */
  const waitUntil = (due: bigint) => {
    const ms = Number(due - now()) / 1e6;
    if (ms <= 0) return;
    if (options.deadline !== undefined && Date.now() + ms > options.deadline) {
      sleep(options.deadline - Date.now());
      throw new ComponentDeadline();
    }
    sleep(Math.ceil(ms));
  };
  // Streams' pollables are always ready (due 0); clock subscriptions are due at their instant.
  class Pollable {
    readonly due: bigint;
    constructor(due = 0n) {
      this.due = due;
    }
    ready(): boolean {
      return this.due <= now();
    }
    block(): void {
      while (!this.ready()) waitUntil(this.due);
    }
  }
  const poll = (list: Pollable[]): Uint32Array => {
    if (list.length === 0) throw new Error('poll of an empty list');
    for (;;) {
      const ready = list.flatMap((p, i) => (p.ready() ? [i] : []));
      if (ready.length > 0) return Uint32Array.from(ready);
      let earliest = list[0]?.due ?? 0n;
      for (const p of list) if (p.due < earliest) earliest = p.due;
      waitUntil(earliest);
    }
  };
  const closed = () => ({ tag: 'closed' });
  class InputStream {
    read(_len: bigint): Uint8Array {
      throw closed();
    }
    blockingRead(_len: bigint): Uint8Array {
      throw closed();
    }
    skip(): bigint {
      throw closed();
    }
    blockingSkip(): bigint {
      throw closed();
    }
    subscribe(): Pollable {
      return new Pollable();
    }
  }
  class OutputStream {
    readonly #sink: ((bytes: Uint8Array) => void) | undefined;
    constructor(sink?: (bytes: Uint8Array) => void) {
      this.#sink = sink;
    }
    checkWrite(): bigint {
      if (!this.#sink) throw closed();
      return 1048576n;
    }
    write(contents: Uint8Array): void {
      if (!this.#sink) throw closed();
      this.#sink(contents.slice());
    }
    blockingWriteAndFlush(contents: Uint8Array): void {
      this.write(contents);
    }
    flush(): void {}
    blockingFlush(): void {}
    writeZeroes(len: bigint): void {
      this.write(new Uint8Array(Number(len)));
    }
    blockingWriteZeroesAndFlush(len: bigint): void {
      this.writeZeroes(len);
    }
    splice(): bigint {
      throw closed();
    }
    blockingSplice(): bigint {
      throw closed();
    }
    subscribe(): Pollable {
      return new Pollable();
    }
  }
  // No descriptor is ever handed out (no preopens), but the type must exist for linking.
  class Descriptor {
    constructor() {
      throw 'access';
    }
  }
  class DirectoryEntryStream {}
  class TerminalInput {}
  class TerminalOutput {}
  const stdout = new OutputStream(options.onStdout);
  const stderr = new OutputStream(options.onStderr);
  const stdin = new InputStream();
  const exit = (code: number) => {
    throw new ComponentExit(code);
  };

  return {
    'wasi:cli/environment': { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': {
      exit: (status: { tag: 'ok' | 'err' }) => exit(status.tag === 'ok' ? 0 : 1),
      exitWithCode: (code: number) => exit(code),
    },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:clocks/monotonic-clock': {
      now,
      resolution: () => 1000n,
      subscribeInstant: (when: bigint) => new Pollable(when),
      subscribeDuration: (duration: bigint) => new Pollable(now() + duration),
    },
    'wasi:clocks/wall-clock': {
      now: () => {
        const ms = Date.now();
        return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
    },
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': { Pollable, poll },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/random': {
      getRandomBytes: (len: bigint) => new Uint8Array(randomBytes(Number(len))),
      getRandomU64: () => randomFillSync(new BigUint64Array(1))[0] as bigint,
    },
    'wasi:random/insecure': {
      getInsecureRandomBytes: (len: bigint) => new Uint8Array(randomBytes(Number(len))),
      getInsecureRandomU64: () => randomFillSync(new BigUint64Array(1))[0] as bigint,
    },
    'wasi:random/insecure-seed': {
      insecureSeed: () => {
        const seed = randomFillSync(new BigUint64Array(2));
        return [seed[0] as bigint, seed[1] as bigint];
      },
    },
  };
}
