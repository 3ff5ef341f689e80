/** State shared by our preview1 functions: the guest memory, the fd table, the output sinks. */
import { E } from './errno.ts';

export type FdEntry =
  | { kind: 'stdin' }
  | { kind: 'stdout' }
  | { kind: 'stderr' }
  | { kind: 'dir'; rel: string[]; preopen?: string }
  | { kind: 'file'; rel: string[]; hostFd: number; pos: number; append: boolean; read: boolean; write: boolean };

/** Thrown by proc_exit: ends the guest (never the host); caught by whoever called the guest. */
export class GuestExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`guest exited with code ${exitCode}`);
    this.name = 'GuestExit';
    this.exitCode = exitCode;
  }
}

export class WasiContext {
  memory: WebAssembly.Memory | undefined;
  readonly fds = new Map<number, FdEntry>();
  stdinPos = 0;
  /** Bytes the guest has written to files in its temp dir (capped by tmpBytes). */
  tmpWritten = 0;

  readonly stdin: Uint8Array;
  readonly tempDir: string | undefined;
  readonly tmpBytes: number;

  constructor(stdin: Uint8Array, tempDir: string | undefined, tmpBytes: number) {
    this.stdin = stdin;
    this.tempDir = tempDir;
    this.tmpBytes = tmpBytes;
    this.fds.set(0, { kind: 'stdin' });
    this.fds.set(1, { kind: 'stdout' });
    this.fds.set(2, { kind: 'stderr' });
    if (tempDir) this.fds.set(3, { kind: 'dir', rel: [], preopen: '/tmp' });
  }

  view(): DataView {
    if (!this.memory) throw new RangeError('the guest exported no memory');
    return new DataView(this.memory.buffer);
  }

  bytes(ptr: number, len: number): Uint8Array {
    if (!this.memory) throw new RangeError('the guest exported no memory');
    const buffer = this.memory.buffer;
    if (ptr < 0 || len < 0 || ptr + len > buffer.byteLength) throw new RangeError('guest pointer out of bounds');
    return new Uint8Array(buffer, ptr, len);
  }

  string(ptr: number, len: number): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes(ptr, len));
  }

  /** The (ptr, len) pairs of an iovec array. */
  iovs(ptr: number, count: number): Uint8Array[] {
    const view = this.view();
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const base = view.getUint32(ptr + i * 8, true);
      const len = view.getUint32(ptr + i * 8 + 4, true);
      out.push(this.bytes(base, len));
    }
    return out;
  }

  nextFd(): number {
    let fd = 4;
    while (this.fds.has(fd)) fd++;
    return fd;
  }
}

/** Wraps a host function: out-of-bounds pointers become EFAULT, GuestExit passes through. */
export function guard<A extends unknown[]>(fn: (...args: A) => number): (...args: A) => number {
  return (...args: A) => {
    try {
      return fn(...args);
    } catch (error) {
      if (error instanceof RangeError) return E.FAULT;
      throw error;
    }
  };
}
