/** Test helpers: requirement checks and a fake cgroupfs laid out like a real one. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Requirement } from '../support/requirements.ts';

export function cgroupV1Writable(): Requirement {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'requires root to write cgroups' };
  const mem = '/sys/fs/cgroup/memory';
  if (!existsSync(join(mem, 'memory.limit_in_bytes')))
    return { ok: false, reason: 'cgroup v1 memory controller not mounted at /sys/fs/cgroup/memory' };
  try {
    accessSync(mem, constants.W_OK);
  } catch {
    return { ok: false, reason: 'cgroups not writable' };
  }
  return { ok: true };
}

/** Can this host make disk-backed scratch spaces (root, loop devices, ext4 tools)? */
export function scratchDiskRequirement(): Requirement {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'requires root (losetup, mount)' };
  if (!existsSync('/dev/loop-control')) return { ok: false, reason: 'no loop devices (/dev/loop-control)' };
  for (const tool of ['losetup', 'mkfs.ext4', 'mount'])
    if (spawnSync(tool, ['--version'], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).error)
      return { ok: false, reason: `${tool} is not installed (util-linux, e2fsprogs)` };
  return { ok: true };
}

/** The v1 blkio controller is mounted (block-I/O throttles and byte counts, for real). */
export function blkioV1Requirement(): Requirement {
  return existsSync('/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device')
    ? { ok: true }
    : { ok: false, reason: 'cgroup v1 blkio controller not mounted at /sys/fs/cgroup/blkio' };
}

/** The first requirement that is not met, or ok. */
export const allOf = (...reqs: Requirement[]): Requirement => reqs.find((r) => !r.ok) ?? { ok: true };

/** A fake v2 root: cgroup.controllers, subtree_control and the root's stat files. */
export function fakeV2Root(controllers = 'cpuset cpu io memory pids'): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'strata-fake-cg2-'));
  writeFileSync(join(root, 'cgroup.controllers'), `${controllers}\n`);
  writeFileSync(join(root, 'cgroup.subtree_control'), '');
  writeFileSync(join(root, 'cgroup.procs'), '');
  writeFileSync(join(root, 'cpu.stat'), 'usage_usec 1\n');
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A fake v1 root with one directory per controller (and optionally an empty unified tree). */
export function fakeV1Root(withUnified: boolean): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'strata-fake-cg1-'));
  for (const c of ['cpu,cpuacct', 'cpuset', 'memory', 'blkio', 'pids', 'freezer', 'devices']) {
    mkdirSync(join(root, c));
    writeFileSync(join(root, c, 'cgroup.procs'), '');
  }
  writeFileSync(join(root, 'cpuset', 'cpuset.cpus'), '0-1');
  writeFileSync(join(root, 'cpuset', 'cpuset.mems'), '0');
  if (withUnified) {
    mkdirSync(join(root, 'unified'));
    writeFileSync(join(root, 'unified', 'cgroup.controllers'), '');
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export const uniqueParent = (tag: string): string => `strata-test-${tag}-${process.pid}-${Date.now().toString(36)}`;
