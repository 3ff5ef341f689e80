/**
 * The cgroup manager: detects the hierarchy, owns one parent group per worker process
 * (`strata/w<pid>` by default), makes a group per sandbox invocation and per host process, and
 * reaps leftovers of earlier runs. Every child group is named `strata-<kind>-<id>` so leftovers
 * are recognisable. Several workers can share a machine: each reaps only its own groups and the
 * instance directories of workers that are no longer running.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type CgroupDetection, detectCgroups, type V1Controller } from './detect.ts';
import { exists, listDirs, readText, removeGroupDir, tryWrite } from './fs.ts';
import type { CgroupGroup } from './group.ts';
import { V1Group } from './group-v1.ts';
import { V2Group } from './group-v2.ts';
import { type GroupLimits, v1Writes, v2Writes } from './limits.ts';

export const GROUP_PREFIX = 'strata-';

export interface CgroupManagerOptions {
  /** Root of the cgroup filesystem (a fake directory in tests). */
  root?: string;
  /** Strata's parent group, relative to each hierarchy's root. */
  parent?: string;
  /**
   * This worker's directory under the parent (default `w<pid>`, `w<pid>-<n>` for a further worker
   * of the same process); '' puts groups straight in the
   * parent (one worker per machine, tests).
   */
  instance?: string;
  /** Block devices ("major:minor") for bandwidth limits; empty = every disk in /sys/block. */
  ioDevices?: readonly string[];
}

export interface CgroupHealth {
  available: boolean;
  reason?: string;
  version: CgroupDetection['version'];
  mode: CgroupDetection['mode'];
  root: string;
  parent: string;
  controllers: string[];
  ioWeight: boolean;
  memoryPeak: boolean;
  /** Limits this host cannot enforce, in words. */
  missing: string[];
  groups: number;
}

export type GroupKind = 'sbx' | 'host';

/** Block devices of one sandbox: its scratch disk, to throttle and to count. */
export interface SandboxIo {
  /**
   * Devices bandwidth limits apply to, instead of the node's disks (a scratch disk's loop device
   * and the disks not behind it: throttling both a loop device and its backing disk would halve
   * the rate of every synchronous write).
   */
  devices?: readonly string[];
  /** Devices whose bytes count as the sandbox's I/O (undefined: every device in the counters). */
  count?: readonly string[];
}

/** Group names keep to characters safe in a path component. */
export const groupName = (kind: GroupKind, id: string): string =>
  `${GROUP_PREFIX}${kind}-${id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100)}`;

/** Whole disks of this host as "major:minor" (loop, ram and zram devices are skipped). */
export function blockDevices(sysBlock = '/sys/block'): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(sysBlock);
  } catch {
    return [];
  }
  return names
    .filter((n) => !/^(loop|ram|zram)/.test(n))
    .map((n) => readText(join(sysBlock, n, 'dev'))?.trim())
    .filter((d): d is string => !!d && /^\d+:\d+$/.test(d));
}

/** `w<pid>`, or `w<pid>-<n>` for the n-th further worker of one process (tests run several). */
const INSTANCE = /^w(\d+)(?:-\d+)?$/;

/** Workers made in this process so far: each gets its own instance directory. */
let instancesMade = 0;
const defaultInstance = (): string => {
  const n = instancesMade++;
  return n === 0 ? `w${process.pid}` : `w${process.pid}-${n}`;
};

export class CgroupManager {
  readonly detection: CgroupDetection;
  /** The shared parent (`strata`). */
  readonly base: string;
  /** This worker's own parent (`strata/w<pid>`), where its groups live. */
  readonly parent: string;
  readonly #instance: string;
  readonly #devices: readonly string[];
  readonly #groups = new Map<string, CgroupGroup>();
  /** Sandbox group name -> the invocation id it was made for. */
  readonly #owners = new Map<string, { invocationId: string; limits: GroupLimits }>();
  #startError: string | undefined;
  #started = false;

  constructor(options: CgroupManagerOptions = {}) {
    this.detection = detectCgroups(options.root ?? '/sys/fs/cgroup');
    this.base = options.parent ?? 'strata';
    // Two workers of one process must not share a directory: each reaps what it does not own there.
    this.#instance = options.instance ?? defaultInstance();
    this.parent = this.#instance ? `${this.base}/${this.#instance}` : this.base;
    this.#devices = options.ioDevices?.length ? options.ioDevices : blockDevices();
  }

  /** Parent directory per v1 controller (this worker's, or another relative path). */
  #v1Parents(relative = this.parent): Partial<Record<V1Controller, string>> {
    const out: Partial<Record<V1Controller, string>> = {};
    for (const [c, mount] of Object.entries(this.detection.v1Mounts) as [V1Controller, string][])
      out[c] = join(mount, relative);
    return out;
  }

  #v2Parent(relative = this.parent): string {
    return join(this.detection.v2Root as string, relative);
  }

  /** Make the parent group and reap leftovers. Never throws: health() says what failed. */
  async start(): Promise<number> {
    this.#started = true;
    try {
      if (this.detection.mode === 'none') throw new Error(`no cgroup hierarchy found under ${this.detection.root}`);
      const levels = this.parent === this.base ? [this.base] : [this.base, this.parent];
      if (this.detection.mode === 'v1') {
        for (const level of levels) {
          for (const [c, dir] of Object.entries(this.#v1Parents(level)) as [V1Controller, string][]) {
            mkdirSync(dir, { recursive: true });
            if (c === 'cpuset') {
              // A v1 cpuset group is unusable until it has cpus and mems; copy its parent's.
              for (const f of ['cpuset.cpus', 'cpuset.mems']) {
                const mine = readText(join(dir, f))?.trim();
                if (!mine) tryWrite(join(dir, f), readText(join(dir, '..', f))?.trim() ?? '');
              }
            }
          }
        }
      } else {
        const wanted = this.detection.controllers.filter((c) => c !== 'freezer');
        for (const c of wanted) tryWrite(join(this.detection.v2Root as string, 'cgroup.subtree_control'), `+${c}`);
        for (const level of levels) {
          mkdirSync(this.#v2Parent(level), { recursive: true });
          for (const c of wanted) tryWrite(join(this.#v2Parent(level), 'cgroup.subtree_control'), `+${c}`);
        }
      }
      this.#startError = undefined;
    } catch (err) {
      this.#startError = `cgroups not writable: ${(err as Error).message}`;
      return 0;
    }
    return this.reap();
  }

  health(): CgroupHealth {
    const d = this.detection;
    const missing: string[] = [];
    const has = (c: string) => d.controllers.includes(c);
    if (!has('cpu')) missing.push('cpu quota/weight (no cpu controller)');
    if (!has('memory')) missing.push('memory limits (no memory controller)');
    if (!has('pids')) missing.push('pids limit (no pids controller)');
    if (!has('cpuset')) missing.push('cpuset pinning (no cpuset controller)');
    if (!has('io')) missing.push('disk bandwidth (no blkio/io controller)');
    if (!d.ioWeight) missing.push('ioWeight (the kernel has no I/O weight file: no BFQ/io.cost scheduler)');
    if (!d.memoryPeak) missing.push('memoryPeakBytes (no memory.peak)');
    if (this.#devices.length === 0) missing.push('disk bandwidth (no block device found)');
    const reason = d.mode === 'none' ? `no cgroup hierarchy found under ${d.root}` : this.#startError;
    return {
      available: reason === undefined && this.#started,
      ...(reason ? { reason } : this.#started ? {} : { reason: 'cgroup manager not started' }),
      version: d.version,
      mode: d.mode,
      root: d.root,
      parent: this.parent,
      controllers: d.controllers,
      ioWeight: d.ioWeight,
      memoryPeak: d.memoryPeak,
      missing,
      groups: this.#groups.size,
    };
  }

  get available(): boolean {
    return this.health().available;
  }

  /** Block devices bandwidth limits apply to (configured, or every whole disk). */
  get ioDevices(): readonly string[] {
    return this.#devices;
  }

  /** A group for one sandbox invocation, with its limits applied. */
  createSandboxGroup(invocationId: string, limits: GroupLimits, io: SandboxIo = {}): CgroupGroup {
    const name = groupName('sbx', invocationId);
    this.#owners.set(name, { invocationId, limits });
    try {
      return this.#create(name, limits, io);
    } catch (err) {
      this.#owners.delete(name);
      throw err;
    }
  }

  /** Sandbox groups alive now, with the invocation each belongs to (the sampler reads these). */
  sandboxGroups(): { invocationId: string; group: CgroupGroup; limits: GroupLimits }[] {
    const out: { invocationId: string; group: CgroupGroup; limits: GroupLimits }[] = [];
    for (const [name, owner] of this.#owners) {
      const group = this.#groups.get(name);
      if (group) out.push({ ...owner, group });
    }
    return out;
  }

  /** A memory-capped group for an isolate/WASM host process. */
  createHostGroup(name: string, memoryBytes: number): CgroupGroup {
    return this.#create(groupName('host', name), { memoryMb: Math.max(8, Math.ceil(memoryBytes / 1024 ** 2)) });
  }

  #create(name: string, limits: GroupLimits, io: SandboxIo = {}): CgroupGroup {
    if (!this.available) throw new Error(this.health().reason ?? 'cgroups unavailable');
    const existing = this.#groups.get(name);
    if (existing) return existing;
    let group: V1Group | V2Group;
    const devices = io.devices ?? this.#devices;
    if (this.detection.mode === 'v1') {
      const cpusetMount = this.detection.v1Mounts.cpuset;
      const parentCpuset = cpusetMount ? join(cpusetMount, this.parent) : undefined;
      group = new V1Group(name, this.#v1Parents(), io.count);
      const writes = v1Writes(limits, {
        devices,
        parentCpus: parentCpuset ? readText(join(parentCpuset, 'cpuset.cpus'))?.trim() : undefined,
        parentMems: parentCpuset ? readText(join(parentCpuset, 'cpuset.mems'))?.trim() : undefined,
      });
      group.create(writes);
    } else {
      group = new V2Group(name, this.#v2Parent(), io.count);
      group.create(v2Writes(limits, { devices }), this.detection.controllers);
    }
    const destroy = group.destroy.bind(group);
    // Forget the group once it is gone, so health and the sampler see only live ones.
    group.destroy = async () => {
      await destroy();
      this.#groups.delete(name);
      this.#owners.delete(name);
    };
    this.#groups.set(name, group);
    return group;
  }

  /** Groups alive now, by name. */
  groups(): ReadonlyMap<string, CgroupGroup> {
    return this.#groups;
  }

  /** The parent's directories in every hierarchy. */
  #dirsOf(relative: string): string[] {
    if (this.detection.mode === 'v1') return Object.values(this.#v1Parents(relative));
    if (this.detection.mode === 'v2') return [this.#v2Parent(relative)];
    return [];
  }

  /** Child names under a parent (any hierarchy) that pass `keep`. */
  #childNames(relative: string, keep: (name: string) => boolean): string[] {
    const names = new Set<string>();
    for (const d of this.#dirsOf(relative)) for (const n of listDirs(d)) if (keep(n)) names.add(n);
    return [...names];
  }

  async #destroyUnder(relative: string, name: string): Promise<void> {
    const group =
      this.detection.mode === 'v1'
        ? new V1Group(name, this.#v1Parents(relative))
        : new V2Group(name, this.#v2Parent(relative));
    await group.destroy();
  }

  /**
   * Kill and remove Strata groups no live owner holds (start-up and periodic): this worker's
   * groups it no longer tracks, and everything of workers whose process is gone.
   */
  async reap(): Promise<number> {
    let reaped = 0;
    for (const name of this.#childNames(this.parent, (n) => n.startsWith(GROUP_PREFIX))) {
      if (this.#groups.has(name)) continue;
      await this.#destroyUnder(this.parent, name);
      reaped++;
    }
    if (this.parent === this.base) return reaped;
    // Groups a pre-instance version left directly under the base.
    for (const name of this.#childNames(this.base, (n) => n.startsWith(GROUP_PREFIX))) {
      await this.#destroyUnder(this.base, name);
      reaped++;
    }
    const dead = (n: string) => {
      const pid = INSTANCE.exec(n)?.[1];
      return pid !== undefined && n !== this.#instance && !existsSync(`/proc/${pid}`);
    };
    for (const instance of this.#childNames(this.base, dead)) {
      const relative = `${this.base}/${instance}`;
      for (const name of this.#childNames(relative, (n) => n.startsWith(GROUP_PREFIX))) {
        await this.#destroyUnder(relative, name);
        reaped++;
      }
      for (const dir of this.#dirsOf(relative)) removeGroupDir(dir);
    }
    return reaped;
  }

  /** Destroy every group made here, then the parent when empty. */
  async dispose(): Promise<void> {
    for (const g of [...this.#groups.values()]) await g.destroy();
    await this.reap();
    for (const d of this.#dirsOf(this.parent)) if (exists(d)) removeGroupDir(d);
    // The shared base goes too once no other worker uses it (rmdir fails while it has children).
    if (this.parent !== this.base) for (const d of this.#dirsOf(this.base)) if (exists(d)) removeGroupDir(d);
  }
}

export const createCgroupManager = (options: CgroupManagerOptions = {}): CgroupManager => new CgroupManager(options);
