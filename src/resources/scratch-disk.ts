/**
 * Disk-backed, size-capped scratch spaces: a sparse file, a loop device, an ext4 file system,
 * mounted under `dir` and bound into a sandbox (the process tier's /tmp; the Docker tier can bind
 * it and throttle the same device with BlkioDeviceReadBps/WriteBps). Unlike a tmpfs, block-I/O
 * throttles (v1 blkio.throttle.*, v2 io.max) bind on its loop device and its bytes are counted
 * (blkio.throttle.io_service_bytes, io.stat), because every write to it is a block request.
 *
 * Each disk is made fresh for one invocation (nothing of one tenant's files can reach another)
 * and torn down after it: unmount, detach, delete. Names carry the worker's pid
 * (`strata-scratch-<pid>-<id>`), so a worker that crashed leaves disks `reap()` recognises and
 * removes: loop devices whose backing file is ours, mounts on them, files and mount points.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PREFIX = 'strata-scratch-';
const NAME = /^strata-scratch-(\d+)-([A-Za-z0-9_.-]+?)(\.img)?$/;
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

export interface ScratchDiskOptions {
  /** Base directory for images and mount points (made 0755: a sandbox user must traverse it). */
  dir: string;
  /** Owner of the file system's root directory (the sandbox's uid/gid). */
  uid: number;
  gid: number;
  /** Loop device bypasses the page cache of the backing file (default true). */
  directIo?: boolean;
  /** Mount noexec as well (the Docker tier's /tmp, as its tmpfs was); a bind keeps the flag. */
  noexec?: boolean;
  /** Mode of the file system's root (default mkfs's 0755; 0o1777 for a /tmp several uids share). */
  rootMode?: number;
  /** Bound on each tool call. */
  timeoutMs?: number;
}

export interface ScratchSpace {
  totalBytes: number;
  freeBytes: number;
}

export interface ScratchDisk {
  readonly id: string;
  readonly sizeBytes: number;
  /** Host path of the mounted file system. */
  readonly mountPoint: string;
  readonly image: string;
  /** /dev/loopN */
  readonly loopDevice: string;
  /** "major:minor" of the loop device: the device to throttle and count. */
  readonly device: string;
  /** "major:minor" of the whole disk the image lives on (its I/O mirrors the loop device's), if any. */
  readonly backingDisk: string | undefined;
  space(): ScratchSpace | undefined;
  /** Unmount, detach, delete. Idempotent. */
  destroy(): Promise<void>;
}

export interface ScratchProbe {
  ok: boolean;
  reason?: string;
}

/** glibc's dev_t encoding -> "major:minor". */
export function devString(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The whole disk holding a device ("8:1" -> "8:0"); the device itself when it is whole. */
export function wholeDiskOf(dev: string, sysDevBlock = '/sys/dev/block'): string | undefined {
  try {
    const path = realpathSync(join(sysDevBlock, dev));
    if (existsSync(join(path, 'partition'))) return readFileSync(join(dirname(path), 'dev'), 'utf8').trim();
    return dev;
  } catch {
    return undefined;
  }
}

/** The scheduler a disk uses ("mq-deadline", "bfq", "none"), from /sys. */
export function schedulerOf(dev: string, sysDevBlock = '/sys/dev/block'): string | undefined {
  try {
    const text = readFileSync(join(sysDevBlock, dev, 'queue', 'scheduler'), 'utf8');
    return /\[([^\]]+)\]/.exec(text)?.[1] ?? text.trim();
  } catch {
    return undefined;
  }
}

/** Mounts whose source is `device` (/dev/loopN), from mountinfo. */
function mountsOf(device: string): string[] {
  const out: string[] = [];
  for (const line of readText('/proc/self/mountinfo').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    if (post.split(' ')[1] === device) out.push(unescapeMount(pre.split(' ')[4] ?? ''));
  }
  return out;
}

const isMounted = (path: string): boolean =>
  readText('/proc/self/mountinfo')
    .split('\n')
    .some((l) => unescapeMount(l.split(' ')[4] ?? '') === path);

const unescapeMount = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const pidAlive = (pid: number): boolean => existsSync(`/proc/${pid}`);

export class ScratchDisks {
  readonly dir: string;
  readonly #uid: number;
  readonly #gid: number;
  readonly #directIo: boolean;
  readonly #noexec: boolean;
  readonly #rootMode: number | undefined;
  readonly #timeoutMs: number;
  readonly #live = new Map<string, ScratchDisk>();

  constructor(options: ScratchDiskOptions) {
    this.dir = options.dir;
    this.#uid = options.uid;
    this.#gid = options.gid;
    this.#directIo = options.directIo ?? true;
    this.#noexec = options.noexec ?? false;
    this.#rootMode = options.rootMode;
    this.#timeoutMs = options.timeoutMs ?? 20_000;
  }

  async #tool(cmd: string, args: string[]): Promise<string> {
    try {
      const { stdout } = await run(cmd, args, { env: ENV, timeout: this.#timeoutMs, encoding: 'utf8' });
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
    }
  }

  /** Can this host make scratch disks? Tries one for real (root, loop devices, ext4, mount). */
  async probe(): Promise<ScratchProbe> {
    if (process.getuid?.() !== 0) return { ok: false, reason: 'scratch disks need root (losetup, mount)' };
    if (!existsSync('/dev/loop-control')) return { ok: false, reason: 'no loop devices (/dev/loop-control missing)' };
    try {
      const disk = await this.create(`probe-${Date.now().toString(36)}`, 2 * 1024 ** 2);
      await disk.destroy();
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: `cannot make a scratch disk: ${(err as Error).message}` };
    }
  }

  /** A fresh, empty, mounted file system of `sizeBytes` (what the sandbox may write in total). */
  async create(id: string, sizeBytes: number): Promise<ScratchDisk> {
    const safe = id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
    const name = `${PREFIX}${process.pid}-${safe}`;
    if (this.#live.has(name)) throw new Error(`scratch disk ${name} exists`);
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    chmodSync(this.dir, 0o755);
    const image = join(this.dir, `${name}.img`);
    const mountPoint = join(this.dir, name);
    const state: { loop?: string; mounted?: boolean } = {};
    const cleanup = async () => {
      if (state.mounted || isMounted(mountPoint)) await this.#umount(mountPoint);
      if (state.loop) await this.#detach(state.loop);
      rmSync(image, { force: true });
      try {
        rmdirSync(mountPoint); // never recursive: a failed unmount must not delete anything through it
      } catch {
        // absent, or still a mount point (reap retries)
      }
    };
    try {
      // A sparse file: disk space is used only as the sandbox writes.
      const fd = openSync(image, 'wx', 0o600);
      try {
        ftruncateSync(fd, sizeBytes);
      } finally {
        closeSync(fd);
      }
      await this.#tool('mkfs.ext4', [
        '-q',
        '-F',
        '-m',
        '0',
        // No journal or resize reserve: a scratch space lives for one invocation.
        '-O',
        '^has_journal,^resize_inode',
        '-E',
        `root_owner=${this.#uid}:${this.#gid},lazy_itable_init=1,nodiscard`,
        image,
      ]);
      state.loop = await this.#attach(image);
      mkdirSync(mountPoint, { mode: 0o755 });
      await this.#tool('mount', [
        '-t',
        'ext4',
        '-o',
        `nosuid,nodev,noinit_itable${this.#noexec ? ',noexec' : ''}`,
        state.loop,
        mountPoint,
      ]);
      // noinit_itable: no background zeroing of inode tables (ext4lazyinit), which would write
      // through the loop device while the sandbox runs and show up as its I/O.
      state.mounted = true;
      if (this.#rootMode !== undefined) chmodSync(mountPoint, this.#rootMode);
      try {
        rmdirSync(join(mountPoint, 'lost+found'));
      } catch {
        // kept if it cannot go; harmless
      }
      const device = readText(`/sys/block/${basename(state.loop)}/dev`).trim();
      if (!/^\d+:\d+$/.test(device)) throw new Error(`cannot read the device number of ${state.loop}`);
      const backing = wholeDiskOf(devString(statSync(image).dev));
      let destroyed: Promise<void> | undefined;
      const disk: ScratchDisk = {
        id,
        sizeBytes,
        mountPoint,
        image,
        loopDevice: state.loop,
        device,
        backingDisk: backing,
        space: () => {
          try {
            const s = statfsSync(mountPoint);
            return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
          } catch {
            return undefined;
          }
        },
        destroy: () => {
          destroyed ??= cleanup().finally(() => this.#live.delete(name));
          return destroyed;
        },
      };
      this.#live.set(name, disk);
      return disk;
    } catch (err) {
      await cleanup().catch(() => {});
      throw err;
    }
  }

  async #attach(image: string): Promise<string> {
    const args = ['--find', '--show', ...(this.#directIo ? ['--direct-io=on'] : []), image];
    // Two workers may race for the same free device; losetup then fails and a retry finds another.
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#tool('losetup', args)).trim();
      } catch (err) {
        if (attempt >= 4) throw err;
        await new Promise((r) => setTimeout(r, 10 * (attempt + 1)));
      }
    }
  }

  async #umount(path: string): Promise<void> {
    try {
      await this.#tool('umount', [path]);
    } catch {
      // Busy (a process still inside): detach it lazily; the kernel frees it with the last user.
      await this.#tool('umount', ['-l', path]).catch(() => {});
    }
  }

  async #detach(loop: string): Promise<void> {
    // A device still held (lazy unmount) is marked autoclear by the kernel and goes with its last user.
    await this.#tool('losetup', ['-d', loop]).catch(() => {});
    // The kernel may defer the detach while the just-unmounted filesystem lets go of the device
    // (seconds on a busy machine): wait for it, so a destroyed disk really is gone.
    await untilDetached(loop, DETACH_WAIT_MS);
  }

  /** Disks alive now. */
  live(): number {
    return this.#live.size;
  }

  /**
   * Remove scratch disks no live owner holds: those of workers whose pid is gone and this
   * worker's untracked ones. Returns how many were removed.
   */
  async reap(): Promise<number> {
    const stale = (name: string) => {
      const m = NAME.exec(name);
      if (!m) return false;
      const pid = Number(m[1]);
      const base = name.replace(/\.img$/, '');
      return pid === process.pid ? !this.#live.has(base) : !pidAlive(pid);
    };
    const reaped = new Set<string>();
    // Loop devices first (their backing file may already be deleted).
    let loops: { name: string; 'back-file'?: string }[] = [];
    try {
      loops =
        JSON.parse(await this.#tool('losetup', ['--json', '--list', '--output', 'NAME,BACK-FILE'])).loopdevices ?? [];
    } catch {
      loops = [];
    }
    for (const l of loops) {
      const back = (l['back-file'] ?? '').replace(/ \(deleted\)$/, '');
      if (dirname(back) !== this.dir || !stale(basename(back))) continue;
      for (const m of mountsOf(l.name)) await this.#umount(m);
      await this.#detach(l.name);
      reaped.add(basename(back).replace(/\.img$/, ''));
    }
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      return reaped.size;
    }
    for (const name of names) {
      if (!stale(name)) continue;
      const path = join(this.dir, name);
      if (name.endsWith('.img')) rmSync(path, { force: true });
      else {
        if (isMounted(path)) await this.#umount(path);
        try {
          rmdirSync(path);
        } catch {
          continue; // still mounted: the next reap tries again
        }
      }
      reaped.add(name.replace(/\.img$/, ''));
    }
    return reaped.size;
  }

  /** Destroy every disk made here. */
  async dispose(): Promise<void> {
    await Promise.all([...this.#live.values()].map((d) => d.destroy()));
  }
}

export const createScratchDisks = (options: ScratchDiskOptions): ScratchDisks => new ScratchDisks(options);

/** How long destroy() waits for the kernel to let go of a detached loop device. */
const DETACH_WAIT_MS = 10_000;

/** Resolves once `/dev/loopN` has no backing file any more (or after `maxMs`); returns whether it went. */
export async function untilDetached(loop: string, maxMs: number): Promise<boolean> {
  const backing = `/sys/block/${basename(loop)}/loop/backing_file`;
  const until = Date.now() + maxMs;
  let step = 5;
  while (existsSync(backing)) {
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, step));
    step = Math.min(step * 2, 200);
  }
  return true;
}
