/** A cgroup on a v1 (or hybrid) host: one directory per controller. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageField } from '../../core/execution.ts';
import { parseBlkioServiceBytes, parseFlatKeyed } from './counters.ts';
import type { V1Controller } from './detect.ts';
import { exists, readNumber, readPids, readText, removeGroupDir, tryWrite, writeControl } from './fs.ts';
import { type CgroupGroup, type GroupUsage, killGroup, waitFor } from './group.ts';
import { type ControlWrite, CPU_PERIOD_US, cpuQuotaUs } from './limits.ts';

export class V1Group implements CgroupGroup {
  readonly name: string;
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  readonly #dir: Partial<Record<V1Controller, string>>;
  /** Devices whose I/O bytes are counted (undefined: all). */
  readonly #ioCount: ReadonlySet<string> | undefined;
  #destroyed = false;
  /** One kill at a time: abort, exit and destroy may all ask for it. */
  #killing: Promise<boolean> | undefined;

  /** `parents` maps each mounted controller to Strata's parent directory in it. */
  constructor(name: string, parents: Partial<Record<V1Controller, string>>, ioCount?: readonly string[]) {
    this.name = name;
    this.#ioCount = ioCount ? new Set(ioCount) : undefined;
    const dir: Partial<Record<V1Controller, string>> = {};
    for (const [controller, parent] of Object.entries(parents) as [V1Controller, string][])
      dir[controller] = join(parent, name);
    this.#dir = dir;
    // Combined mounts ("cpu,cpuacct") give two controllers one directory.
    this.dirs = [...new Set(Object.values(dir))];
    this.procsFiles = this.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  create(writes: readonly ControlWrite[]): void {
    for (const d of this.dirs) mkdirSync(d, { recursive: true });
    for (const w of writes) {
      const d = this.#dir[w.controller as V1Controller];
      if (!d) continue; // controller not mounted: health says so
      const file = join(d, w.file);
      if (w.optional) {
        if (exists(file)) tryWrite(file, w.value);
      } else writeControl(file, w.value);
    }
  }

  #file(controller: V1Controller, file: string): string | undefined {
    const d = this.#dir[controller];
    return d ? join(d, file) : undefined;
  }

  addPid(pid: number): void {
    for (const f of this.procsFiles) writeControl(f, pid);
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const f of this.procsFiles) for (const p of readPids(f)) all.add(p);
    return [...all];
  }

  usage(): GroupUsage {
    const u: GroupUsage = { measured: [] };
    const measured: UsageField[] = [];
    const cpuNs = this.#read('cpuacct', 'cpuacct.usage');
    if (cpuNs !== undefined) {
      u.cpuMs = cpuNs / 1e6;
      measured.push('cpuMs');
    }
    u.memoryBytes = this.#read('memory', 'memory.usage_in_bytes');
    const peak = this.#read('memory', 'memory.max_usage_in_bytes');
    if (peak !== undefined) {
      u.memoryPeakBytes = peak;
      measured.push('memoryPeakBytes');
    }
    const blkio = this.#file('blkio', 'blkio.throttle.io_service_bytes');
    const io = blkio ? parseBlkioServiceBytes(readText(blkio), this.#ioCount) : undefined;
    if (io) {
      u.ioReadBytes = io.read;
      u.ioWriteBytes = io.write;
      measured.push('ioReadBytes', 'ioWriteBytes');
    }
    u.pids = this.#read('pids', 'pids.current');
    u.measured = measured;
    return u;
  }

  #read(controller: V1Controller, file: string): number | undefined {
    const f = this.#file(controller, file);
    return f ? readNumber(f) : undefined;
  }

  oomKilled(): boolean {
    const f = this.#file('memory', 'memory.oom_control');
    return (parseFlatKeyed(f ? readText(f) : undefined).oom_kill ?? 0) > 0;
  }

  pidsLimitHit(): boolean {
    const f = this.#file('pids', 'pids.events');
    return (parseFlatKeyed(f ? readText(f) : undefined).max ?? 0) > 0;
  }

  async freeze(): Promise<void> {
    const f = this.#file('freezer', 'freezer.state');
    if (!f || !tryWrite(f, 'FROZEN')) return;
    // FREEZING until every task stopped; bounded so a fake cgroupfs never hangs us.
    await waitFor(() => readText(f)?.trim() === 'FROZEN', 1000);
  }

  async thaw(): Promise<void> {
    const f = this.#file('freezer', 'freezer.state');
    if (f) tryWrite(f, 'THAWED');
  }

  setCpu(cores: number | undefined): void {
    const quota = this.#file('cpu', 'cpu.cfs_quota_us');
    if (!quota) return;
    if (cores === undefined) writeControl(quota, -1);
    else {
      const period = this.#file('cpu', 'cpu.cfs_period_us');
      if (period) writeControl(period, CPU_PERIOD_US);
      writeControl(quota, cpuQuotaUs(cores));
    }
  }

  kill(): Promise<boolean> {
    this.#killing ??= killGroup({
      pids: () => this.pids(),
      freeze: () => this.freeze(),
      thaw: () => this.thaw(),
    }).finally(() => {
      this.#killing = undefined;
    });
    return this.#killing;
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    await this.kill();
    let removed = true;
    for (const d of this.dirs) removed = removeGroupDir(d) && removed;
    // A process that was still exiting can make rmdir fail briefly; retry once after a kill.
    if (!removed) {
      await this.kill();
      await waitFor(() => this.dirs.every((d) => removeGroupDir(d)), 2000, 20);
    }
    this.#destroyed = !this.dirs.some((d) => exists(d));
  }
}
