/**
 * Our own deny-by-default WASI preview1 (not node:wasi, whose docs say it must not run untrusted
 * code): stdin is the invocation input, stdout/stderr go to sinks the caller bounds, clocks and
 * random work, proc_exit ends only the guest (GuestExit), the environment is empty, there is no
 * filesystem unless a per-invocation temp dir is granted, and no sockets. Nothing here blocks:
 * poll_oneoff reports clock subscriptions as already due, so a guest's sleep() cannot delay its
 * own termination.
 */
import { randomFillSync } from 'node:crypto';
import { GuestExit, guard, WasiContext } from './context.ts';
import { E } from './errno.ts';
import { fsFunctions } from './preview1-fs.ts';
import { PREVIEW1_FUNCTIONS, PREVIEW1_MODULE } from './preview1-names.ts';

export { GuestExit } from './context.ts';

export interface Preview1Options {
  /** What fd 0 reads: the input JSON. */
  stdin: Uint8Array;
  /** fd 1; may throw to stop the guest (for example when a byte cap is hit). */
  onStdout: (bytes: Uint8Array) => void;
  /** fd 2. */
  onStderr: (bytes: Uint8Array) => void;
  /** argv; defaults to ["main"]. */
  args?: readonly string[];
  /** Host path of the granted temp dir, shown to the guest as /tmp (fd 3). */
  tempDir?: string | undefined;
  /** Bytes the guest may write into the temp dir. */
  tmpBytes?: number;
}

export interface Preview1 {
  imports: { [PREVIEW1_MODULE]: Record<string, (...args: never[]) => number> };
  /** Call once the instance exists, with its exported memory. */
  attach(memory: WebAssembly.Memory | undefined): void;
  /** Close every host fd the guest opened. */
  close(): void;
}

export function createPreview1(options: Preview1Options): Preview1 {
  const ctx = new WasiContext(options.stdin, options.tempDir, options.tmpBytes ?? 0);
  const args = (options.args ?? ['main']).map((a) => Buffer.from(`${a}\0`));
  const fs = fsFunctions(ctx);
  const start = process.hrtime.bigint();

  const stringList = (list: Buffer[], ptrs: number, buf: number) => {
    const view = ctx.view();
    let at = buf;
    list.forEach((item, i) => {
      view.setUint32(ptrs + i * 4, at, true);
      ctx.bytes(at, item.length).set(item);
      at += item.length;
    });
    return E.SUCCESS;
  };

  const fns: Record<string, (...args: never[]) => number> = {
    args_sizes_get: guard((argc: number, size: number) => {
      const view = ctx.view();
      view.setUint32(argc, args.length, true);
      view.setUint32(
        size,
        args.reduce((n, a) => n + a.length, 0),
        true,
      );
      return E.SUCCESS;
    }),
    args_get: guard((ptrs: number, buf: number) => stringList(args, ptrs, buf)),
    environ_sizes_get: guard((count: number, size: number) => {
      const view = ctx.view();
      view.setUint32(count, 0, true);
      view.setUint32(size, 0, true);
      return E.SUCCESS;
    }),
    environ_get: () => E.SUCCESS,
    clock_res_get: guard((id: number, out: number) => {
      if (id > 3) return E.INVAL;
      ctx.view().setBigUint64(out, 1000n, true);
      return E.SUCCESS;
    }),
    clock_time_get: guard((id: number, _precision: bigint, out: number) => {
      let now: bigint;
      if (id === 0) now = BigInt(Date.now()) * 1_000_000n;
      else if (id <= 3) now = process.hrtime.bigint() - start;
      else return E.INVAL;
      ctx.view().setBigUint64(out, now, true);
      return E.SUCCESS;
    }),
    fd_read: guard((fd: number, iovs: number, count: number, nread: number) => {
      const entry = ctx.fds.get(fd);
      if (entry?.kind === 'file')
        return (fs.fileRead as unknown as (...a: unknown[]) => number)(fd, iovs, count, nread, undefined);
      if (entry?.kind !== 'stdin') return E.BADF;
      let total = 0;
      for (const buf of ctx.iovs(iovs, count)) {
        const chunk = ctx.stdin.subarray(ctx.stdinPos, ctx.stdinPos + buf.length);
        buf.set(chunk);
        ctx.stdinPos += chunk.length;
        total += chunk.length;
        if (chunk.length < buf.length) break;
      }
      ctx.view().setUint32(nread, total, true);
      return E.SUCCESS;
    }),
    fd_write: guard((fd: number, iovs: number, count: number, nwritten: number) => {
      const entry = ctx.fds.get(fd);
      if (entry?.kind === 'file')
        return (fs.fileWrite as unknown as (...a: unknown[]) => number)(fd, iovs, count, nwritten, undefined);
      if (entry?.kind !== 'stdout' && entry?.kind !== 'stderr') return E.BADF;
      let total = 0;
      for (const buf of ctx.iovs(iovs, count)) {
        if (buf.length === 0) continue;
        // Copy: the guest may reuse its buffer and memory.grow detaches views.
        (entry.kind === 'stdout' ? options.onStdout : options.onStderr)(buf.slice());
        total += buf.length;
      }
      ctx.view().setUint32(nwritten, total, true);
      return E.SUCCESS;
    }),
    poll_oneoff: guard((inPtr: number, outPtr: number, count: number, nevents: number) => {
      const view = ctx.view();
      for (let i = 0; i < count; i++) {
        const sub = inPtr + i * 48;
        const ev = outPtr + i * 32;
        ctx.bytes(ev, 32).fill(0);
        view.setBigUint64(ev, view.getBigUint64(sub, true), true);
        const tag = view.getUint8(sub + 8);
        view.setUint8(ev + 10, tag);
        if (tag !== 0) {
          const fd = view.getUint32(sub + 16, true);
          const ok = tag === 1 ? ctx.fds.get(fd)?.kind === 'stdin' : ctx.fds.has(fd);
          view.setUint16(ev + 8, ok ? E.SUCCESS : E.BADF, true);
          if (ok && tag === 1) view.setBigUint64(ev + 16, BigInt(ctx.stdin.length - ctx.stdinPos), true);
        }
      }
      view.setUint32(nevents, count, true);
      return E.SUCCESS;
    }),
    proc_exit: (code: number) => {
      throw new GuestExit(code);
    },
    random_get: guard((buf: number, len: number) => {
      randomFillSync(ctx.bytes(buf, len));
      return E.SUCCESS;
    }),
    sched_yield: () => E.SUCCESS,
    fd_fdstat_set_flags: (fd: number) => (ctx.fds.has(fd) ? E.NOSYS : E.BADF),
    fd_fdstat_set_rights: (fd: number) => (ctx.fds.has(fd) ? E.NOSYS : E.BADF),
    path_link: () => E.NOTCAPABLE,
    path_symlink: () => E.NOTCAPABLE,
    path_readlink: () => E.NOTCAPABLE,
    sock_accept: () => E.NOTCAPABLE,
    sock_recv: () => E.BADF,
    sock_send: () => E.BADF,
    sock_shutdown: () => E.BADF,
    ...fs,
  };
  // Everything else in preview1 exists so the allowlist can be the whole list, and says "no".
  const imports: Record<string, (...args: never[]) => number> = {};
  for (const name of PREVIEW1_FUNCTIONS) imports[name] = fns[name] ?? (() => E.NOSYS);

  return {
    imports: { [PREVIEW1_MODULE]: imports },
    attach(memory) {
      ctx.memory = memory;
    },
    close() {
      for (const [fd, entry] of ctx.fds) {
        if (entry.kind === 'file') {
          try {
            (fs.fd_close as unknown as (fd: number) => number)(fd);
          } catch {
            // already closed
          }
        }
      }
    },
  };
}
