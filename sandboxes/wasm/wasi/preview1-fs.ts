/**
 * Filesystem functions of our preview1: everything goes through the fd table and the granted
 * temp dir (temp-dir.ts); with no grant there is no directory fd, so every path call is EBADF.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmdirSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';

import { type FdEntry, guard, type WasiContext } from './context.ts';
import { E, errnoOf } from './errno.ts';
import { OPEN_SAFETY, refuseOdd, resolveInside } from './temp-dir.ts';

const FILETYPE = { UNKNOWN: 0, DIRECTORY: 3, REGULAR: 4 } as const;
const RIGHTS_ALL = 0x1fffffffn;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const OFLAG = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;

function dirOf(ctx: WasiContext, fd: number): Extract<FdEntry, { kind: 'dir' }> | number {
  const entry = ctx.fds.get(fd);
  if (!entry) return E.BADF;
  if (entry.kind !== 'dir' || !ctx.tempDir) return E.NOTDIR;
  return entry;
}

function writeFilestat(ctx: WasiContext, ptr: number, stat: Stats): void {
  const view = ctx.view();
  ctx.bytes(ptr, 64).fill(0);
  view.setBigUint64(ptr, 0n, true);
  view.setBigUint64(ptr + 8, BigInt(stat.ino), true);
  view.setUint8(ptr + 16, stat.isDirectory() ? FILETYPE.DIRECTORY : FILETYPE.REGULAR);
  view.setBigUint64(ptr + 24, 1n, true);
  view.setBigUint64(ptr + 32, BigInt(stat.size), true);
  const ns = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n;
  view.setBigUint64(ptr + 40, ns(stat.atimeMs), true);
  view.setBigUint64(ptr + 48, ns(stat.mtimeMs), true);
  view.setBigUint64(ptr + 56, ns(stat.ctimeMs), true);
}

export function fsFunctions(ctx: WasiContext): Record<string, (...args: never[]) => number> {
  const file = (fd: number) => {
    const entry = ctx.fds.get(fd);
    return entry?.kind === 'file' ? entry : undefined;
  };
  const fileRead = (fd: number, iovs: number, count: number, nread: number, at: number | undefined) => {
    const entry = file(fd);
    if (!entry) return E.BADF;
    if (!entry.read) return E.BADF;
    let total = 0;
    let pos = at ?? entry.pos;
    for (const buf of ctx.iovs(iovs, count)) {
      const got = readSync(entry.hostFd, buf, 0, buf.length, pos);
      total += got;
      pos += got;
      if (got < buf.length) break;
    }
    if (at === undefined) entry.pos = pos;
    ctx.view().setUint32(nread, total, true);
    return E.SUCCESS;
  };
  const fileWrite = (fd: number, iovs: number, count: number, nwritten: number, at: number | undefined) => {
    const entry = file(fd);
    if (!entry?.write) return E.BADF;
    const bufs = ctx.iovs(iovs, count);
    const size = bufs.reduce((n, b) => n + b.length, 0);
    if (ctx.tmpWritten + size > ctx.tmpBytes) return E.NOSPC;
    let pos = at ?? (entry.append ? fstatSync(entry.hostFd).size : entry.pos);
    let total = 0;
    for (const buf of bufs) {
      const put = writeSync(entry.hostFd, buf, 0, buf.length, pos);
      total += put;
      pos += put;
    }
    ctx.tmpWritten += total;
    if (at === undefined) entry.pos = pos;
    ctx.view().setUint32(nwritten, total, true);
    return E.SUCCESS;
  };

  const fns = {
    fileRead,
    fileWrite,
    fd_pread: (fd: number, iovs: number, count: number, offset: bigint, nread: number) =>
      fileRead(fd, iovs, count, nread, Number(offset)),
    fd_pwrite: (fd: number, iovs: number, count: number, offset: bigint, nwritten: number) =>
      fileWrite(fd, iovs, count, nwritten, Number(offset)),
    fd_seek: (fd: number, offset: bigint, whence: number, out: number) => {
      const entry = ctx.fds.get(fd);
      if (!entry) return E.BADF;
      if (entry.kind !== 'file') return E.SPIPE;
      const base = whence === 0 ? 0 : whence === 1 ? entry.pos : whence === 2 ? fstatSync(entry.hostFd).size : -1;
      if (base < 0) return E.INVAL;
      const next = base + Number(offset);
      if (next < 0) return E.INVAL;
      entry.pos = next;
      ctx.view().setBigUint64(out, BigInt(next), true);
      return E.SUCCESS;
    },
    fd_tell: (fd: number, out: number) => {
      const entry = ctx.fds.get(fd);
      if (!entry) return E.BADF;
      if (entry.kind !== 'file') return E.SPIPE;
      ctx.view().setBigUint64(out, BigInt(entry.pos), true);
      return E.SUCCESS;
    },
    fd_close: (fd: number) => {
      const entry = ctx.fds.get(fd);
      if (!entry) return E.BADF;
      if (entry.kind === 'file') closeSync(entry.hostFd);
      ctx.fds.delete(fd);
      return E.SUCCESS;
    },
    fd_sync: (fd: number) => (ctx.fds.has(fd) ? E.SUCCESS : E.BADF),
    fd_datasync: (fd: number) => (ctx.fds.has(fd) ? E.SUCCESS : E.BADF),
    fd_advise: (fd: number) => (ctx.fds.has(fd) ? E.SUCCESS : E.BADF),
    fd_fdstat_get: (fd: number, out: number) => {
      const entry = ctx.fds.get(fd);
      if (!entry) return E.BADF;
      const view = ctx.view();
      ctx.bytes(out, 24).fill(0);
      const type =
        entry.kind === 'dir' ? FILETYPE.DIRECTORY : entry.kind === 'file' ? FILETYPE.REGULAR : FILETYPE.UNKNOWN;
      view.setUint8(out, type);
      view.setUint16(out + 2, entry.kind === 'file' && entry.append ? 1 : 0, true);
      const base =
        entry.kind === 'stdin'
          ? RIGHT_FD_READ
          : entry.kind === 'stdout' || entry.kind === 'stderr'
            ? RIGHT_FD_WRITE
            : RIGHTS_ALL;
      view.setBigUint64(out + 8, base, true);
      view.setBigUint64(out + 16, entry.kind === 'dir' ? RIGHTS_ALL : 0n, true);
      return E.SUCCESS;
    },
    fd_filestat_get: (fd: number, out: number) => {
      const entry = ctx.fds.get(fd);
      if (!entry) return E.BADF;
      if (entry.kind === 'file') writeFilestat(ctx, out, fstatSync(entry.hostFd));
      else if (entry.kind === 'dir' && ctx.tempDir) {
        const r = resolveInside(ctx.tempDir, entry.rel, '.');
        if (!r.ok || !r.stat) return r.ok ? E.NOENT : r.errno;
        writeFilestat(ctx, out, r.stat);
      } else {
        ctx.bytes(out, 64).fill(0);
      }
      return E.SUCCESS;
    },
    fd_filestat_set_size: (fd: number, size: bigint) => {
      const entry = file(fd);
      if (!entry?.write) return E.BADF;
      const grow = Number(size) - fstatSync(entry.hostFd).size;
      if (grow > 0 && ctx.tmpWritten + grow > ctx.tmpBytes) return E.NOSPC;
      if (grow > 0) ctx.tmpWritten += grow;
      ftruncateSync(entry.hostFd, Number(size));
      return E.SUCCESS;
    },
    fd_prestat_get: (fd: number, out: number) => {
      const entry = ctx.fds.get(fd);
      if (entry?.kind !== 'dir' || !entry.preopen) return E.BADF;
      const view = ctx.view();
      view.setUint32(out, 0, true);
      view.setUint32(out + 4, Buffer.byteLength(entry.preopen), true);
      return E.SUCCESS;
    },
    fd_prestat_dir_name: (fd: number, ptr: number, len: number) => {
      const entry = ctx.fds.get(fd);
      if (entry?.kind !== 'dir' || !entry.preopen) return E.BADF;
      const name = Buffer.from(entry.preopen);
      ctx.bytes(ptr, Math.min(len, name.length)).set(name.subarray(0, len));
      return E.SUCCESS;
    },
    fd_readdir: (fd: number, buf: number, len: number, cookie: bigint, used: number) => {
      const dir = dirOf(ctx, fd);
      if (typeof dir === 'number') return dir;
      const r = resolveInside(ctx.tempDir as string, dir.rel, '.');
      if (!r.ok) return r.errno;
      const names = ['.', '..', ...readdirSync(r.host).sort()];
      const out = ctx.bytes(buf, len);
      const view = ctx.view();
      let n = 0;
      for (let i = Number(cookie); i < names.length && n < len; i++) {
        const name = Buffer.from(names[i] as string);
        const header = new Uint8Array(24);
        const hv = new DataView(header.buffer);
        hv.setBigUint64(0, BigInt(i + 1), true);
        hv.setUint32(16, name.length, true);
        let type = FILETYPE.DIRECTORY as number;
        if (i >= 2) {
          const child = resolveInside(ctx.tempDir as string, dir.rel, names[i] as string);
          type = child.ok && child.stat?.isFile() ? FILETYPE.REGULAR : child.ok ? FILETYPE.DIRECTORY : FILETYPE.UNKNOWN;
        }
        hv.setUint8(20, type);
        const record = Buffer.concat([header, name]);
        const take = Math.min(record.length, len - n);
        out.set(record.subarray(0, take), n);
        n += take;
      }
      view.setUint32(used, n, true);
      return E.SUCCESS;
    },
    path_open: (
      fd: number,
      _dirflags: number,
      pathPtr: number,
      pathLen: number,
      oflags: number,
      rightsBase: bigint,
      _rightsInheriting: bigint,
      fdflags: number,
      out: number,
    ) => {
      const dir = dirOf(ctx, fd);
      if (typeof dir === 'number') return dir === E.NOTDIR ? E.NOTCAPABLE : dir;
      const r = resolveInside(ctx.tempDir as string, dir.rel, ctx.string(pathPtr, pathLen));
      if (!r.ok) return r.errno;
      const wantsDir = (oflags & OFLAG.DIRECTORY) !== 0;
      if (r.stat?.isDirectory()) {
        if (oflags & (OFLAG.CREAT | OFLAG.TRUNC)) return E.ISDIR;
        const next = ctx.nextFd();
        ctx.fds.set(next, { kind: 'dir', rel: r.rel });
        ctx.view().setUint32(out, next, true);
        return E.SUCCESS;
      }
      if (wantsDir) return r.stat ? E.NOTDIR : E.NOENT;
      if (!r.stat && !(oflags & OFLAG.CREAT)) return E.NOENT;
      if (r.stat && oflags & OFLAG.CREAT && oflags & OFLAG.EXCL) return E.EXIST;
      const read = (rightsBase & RIGHT_FD_READ) !== 0n;
      const write = (rightsBase & RIGHT_FD_WRITE) !== 0n || (oflags & (OFLAG.CREAT | OFLAG.TRUNC)) !== 0;
      let flags = OPEN_SAFETY | (read && write ? constants.O_RDWR : write ? constants.O_WRONLY : constants.O_RDONLY);
      if (oflags & OFLAG.CREAT) flags |= constants.O_CREAT;
      if (oflags & OFLAG.EXCL) flags |= constants.O_EXCL;
      if (oflags & OFLAG.TRUNC) flags |= constants.O_TRUNC;
      const hostFd = openSync(r.host, flags, 0o600);
      // Re-check what was opened: the fd, not the path, is what the guest will use.
      const check = refuseOdd(fstatSync(hostFd));
      if (check !== E.SUCCESS) {
        closeSync(hostFd);
        return check;
      }
      const next = ctx.nextFd();
      ctx.fds.set(next, { kind: 'file', rel: r.rel, hostFd, pos: 0, append: (fdflags & 1) !== 0, read, write });
      ctx.view().setUint32(out, next, true);
      return E.SUCCESS;
    },
    path_filestat_get: (fd: number, _flags: number, pathPtr: number, pathLen: number, out: number) => {
      const dir = dirOf(ctx, fd);
      if (typeof dir === 'number') return dir === E.NOTDIR ? E.NOTCAPABLE : dir;
      const r = resolveInside(ctx.tempDir as string, dir.rel, ctx.string(pathPtr, pathLen));
      if (!r.ok) return r.errno;
      if (!r.stat) return E.NOENT;
      writeFilestat(ctx, out, r.stat);
      return E.SUCCESS;
    },
    path_create_directory: (fd: number, pathPtr: number, pathLen: number) => {
      const dir = dirOf(ctx, fd);
      if (typeof dir === 'number') return dir === E.NOTDIR ? E.NOTCAPABLE : dir;
      const r = resolveInside(ctx.tempDir as string, dir.rel, ctx.string(pathPtr, pathLen));
      if (!r.ok) return r.errno;
      if (r.stat) return E.EXIST;
      mkdirSync(r.host, { mode: 0o700 });
      return E.SUCCESS;
    },
    path_unlink_file: (fd: number, pathPtr: number, pathLen: number) => {
      const dir = dirOf(ctx, fd);
      if (typeof dir === 'number') return dir === E.NOTDIR ? E.NOTCAPABLE : dir;
      const r = resolveInside(ctx.tempDir as string, dir.rel, ctx.string(pathPtr, pathLen));
      if (!r.ok) return r.errno;
      if (!r.stat) return E.NOENT;
      if (r.stat.isDirectory()) return E.ISDIR;
      unlinkSync(r.host);
      return E.SUCCESS;
    },
    path_remove_directory: (fd: number, pathPtr: number, pathLen: number) => {
      const dir = dirOf(ctx, fd);
      if (typeof dir === 'number') return dir === E.NOTDIR ? E.NOTCAPABLE : dir;
      const r = resolveInside(ctx.tempDir as string, dir.rel, ctx.string(pathPtr, pathLen));
      if (!r.ok) return r.errno;
      if (!r.stat) return E.NOENT;
      if (!r.stat.isDirectory()) return E.NOTDIR;
      if (r.rel.length === 0) return E.NOTCAPABLE;
      rmdirSync(r.host);
      return E.SUCCESS;
    },
  };
  // fs errors become errnos; pointer faults become EFAULT.
  const out: Record<string, (...args: never[]) => number> = {};
  for (const [name, fn] of Object.entries(fns)) {
    const inner = guard(fn as (...args: unknown[]) => number);
    out[name] = ((...args: unknown[]) => {
      try {
        return inner(...args);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== undefined) return errnoOf(error);
        throw error;
      }
    }) as (...args: never[]) => number;
  }
  return out;
}
