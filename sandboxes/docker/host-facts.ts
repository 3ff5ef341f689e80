/** What the node offers for container limits: CPU count, the daemon's block device, blkio weight. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import type { HostFacts } from './hardening.ts';

/** The whole-disk device (/dev/vda) holding `dir`, or undefined (overlay, tmpfs, remote daemon). */
export function blockDeviceOf(dir: string, sysRoot = '/sys'): string | undefined {
  try {
    const dev = statSync(dir).dev;
    const major = Math.floor(dev / 256) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    const link = `${sysRoot}/dev/block/${major}:${minor}`;
    if (!existsSync(link)) return undefined;
    // A partition's sysfs directory has a `partition` file; throttling wants the parent disk.
    const real = readFileSync(`${link}/uevent`, 'utf8');
    const name = /DEVNAME=(\S+)/.exec(real)?.[1];
    if (!name) return undefined;
    const disk = existsSync(`${link}/partition`) ? basename(`${link}/..`) : name;
    const parent = existsSync(`${link}/partition`) ? readFileSync(`${link}/../uevent`, 'utf8') : real;
    const diskName = /DEVNAME=(\S+)/.exec(parent)?.[1] ?? disk;
    const path = `/dev/${diskName}`;
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Whether blkio weights can apply (v1 blkio.weight / blkio.bfq.weight, or v2 io.weight). */
export function ioWeightSupported(cgroupRoot = '/sys/fs/cgroup'): boolean {
  return (
    ['blkio/blkio.weight', 'blkio/blkio.bfq.weight'].some((f) => existsSync(`${cgroupRoot}/${f}`)) ||
    (existsSync(`${cgroupRoot}/cgroup.controllers`) &&
      readFileSync(`${cgroupRoot}/cgroup.controllers`, 'utf8').includes('io'))
  );
}

export function hostFacts(dockerRootDir: string | undefined, local: boolean): HostFacts {
  return {
    cpuCount: availableParallelism(),
    blockDevice: local && dockerRootDir ? blockDeviceOf(dockerRootDir) : undefined,
    // Docker itself drops the weight (with a warning) where unsupported; we leave it out instead.
    ioWeight: local && ioWeightSupported(),
  };
}
