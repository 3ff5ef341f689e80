/** Test helpers: requirement checks and a fake cgroupfs laid out like a real one. */
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
