/**
 * The docker tier's disk-backed /tmp: one scratch disk (src/resources/scratch-disk.ts: a sparse
 * file, a loop device, ext4) per container, made before the container is created, bound at /tmp,
 * and removed after the container is. Block-I/O limits are set on its loop device (docker's
 * BlkioDeviceRead/WriteBps: v1 blkio.throttle.*, v2 io.max) and its bytes are read from the
 * container cgroup's counters for that device (v1 blkio.throttle.io_service_bytes, v2 io.stat).
 *
 * What the host offers is read from the cgroup file system (a root argument, so the v2 path is
 * unit-tested on a fake tree) and judged by src/resources/io-support.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { IoSupportInput } from '../../src/resources/io-support.ts';
import { devString, type ScratchDisk, schedulerOf, wholeDiskOf } from '../../src/resources/scratch-disk.ts';

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The cgroup facts io-support needs, for the hierarchy Docker uses on this host. */
export function cgroupIoFacts(
  cgroupRoot = '/sys/fs/cgroup',
): Pick<IoSupportInput, 'mode' | 'controllers' | 'weightFile' | 'ioCost'> {
  const v2 = readText(join(cgroupRoot, 'cgroup.controllers'));
  if (v2 !== undefined) {
    const controllers = v2.trim().split(/\s+/).filter(Boolean);
    const ioCost = existsSync(join(cgroupRoot, 'io.cost.qos'));
    return {
      mode: 'v2',
      controllers,
      // Docker writes io.weight (io.bfq.weight with BFQ); the file exists in child groups only.
      weightFile: controllers.includes('io'),
      ioCost,
    };
  }
  if (existsSync(join(cgroupRoot, 'blkio'))) {
    return {
      mode: 'v1',
      controllers: ['io'],
      weightFile: ['blkio.weight', 'blkio.bfq.weight'].some((f) => existsSync(join(cgroupRoot, 'blkio', f))),
    };
  }
  return { mode: existsSync(cgroupRoot) ? 'v1' : 'none', controllers: [], weightFile: false };
}

/** "major:minor" of a device node (/dev/vda), or undefined. */
export function deviceNumberOf(path: string): string | undefined {
  try {
    const st = statSync(path);
    return st.isBlockDevice() ? devString(st.rdev) : undefined;
  } catch {
    return undefined;
  }
}

/** The disk behind the scratch directory and its scheduler (what ioWeight depends on). */
export function backingOf(dir: string): { backingDisk?: string; backingScheduler?: string } {
  try {
    const disk = wholeDiskOf(devString(statSync(dir).dev));
    if (!disk) return {};
    const scheduler = schedulerOf(disk);
    return { backingDisk: disk, ...(scheduler ? { backingScheduler: scheduler } : {}) };
  } catch {
    return {};
  }
}

/**
 * Devices a container's I/O limits apply to and its I/O is counted on: the scratch disk's loop
 * device, and the daemon's data-root disk unless it is the disk behind the scratch image (whose
 * I/O for the loop device is the same bytes again).
 */
export function scratchIoDevices(
  scratch: Pick<ScratchDisk, 'loopDevice' | 'device' | 'backingDisk'>,
  blockDevice: string | undefined,
): { paths: string[]; numbers: string[] } {
  const paths = [scratch.loopDevice];
  const numbers = [scratch.device];
  const number = blockDevice ? deviceNumberOf(blockDevice) : undefined;
  if (blockDevice && number && number !== scratch.backingDisk) {
    paths.push(blockDevice);
    numbers.push(number);
  }
  return { paths, numbers };
}

/**
 * Whether the container's /tmp really is the scratch disk (major:minor `device`), read from the
 * host's view of its mount table. A daemon in another mount namespace would bind the empty
 * directory under the mount point instead: an uncapped /tmp on the host's disk, refused.
 */
export function tmpIsScratch(pid: number, device: string, procRoot = '/proc'): boolean | undefined {
  const text = readText(`${procRoot}/${pid}/mountinfo`);
  // The process is gone (a command that exited at once): nothing to judge.
  if (!text) return undefined;
  let top: string | undefined;
  // The last mount at /tmp is the one on top (what the container sees).
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields[4] === '/tmp') top = fields[2];
  }
  return top === device;
}

/** Bytes read and written on a block device since boot, from /sys/block/<name>/stat (512-byte sectors). */
export function blockStat(device: string, sysRoot = '/sys'): { readBytes: number; writeBytes: number } | undefined {
  const name = device.replace(/^\/dev\//, '');
  const fields = readText(`${sysRoot}/block/${name}/stat`)?.trim().split(/\s+/).map(Number);
  if (!fields || fields.length < 7 || fields.some((n) => !Number.isFinite(n))) return undefined;
  return { readBytes: (fields[2] as number) * 512, writeBytes: (fields[6] as number) * 512 };
}
