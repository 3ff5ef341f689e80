/** A cgroup on a v2 (unified) host: one directory with every controller's files. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageField } from '../../core/execution.ts';
import { parseFlatKeyed, parseIoStat } from './counters.ts';
import { exists, readNumber, readPids, readText, removeGroupDir, tryWrite, writeControl } from './fs.ts';
import { type CgroupGroup, type GroupUsage, killGroup, waitFor } from './group.ts';
import { type ControlWrite, CPU_PERIOD_US, cpuQuotaUs } from './limits.ts';

export class V2Group implements CgroupGroup {
  readonly name: string;
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  readonly dir: string;
  /** Devices whose I/O bytes are counted (undefined: all). */
  readonly #ioCount: ReadonlySet<string> | undefined;
  #destroyed = false;
  /** One kill at a time: abort, exit and destroy may all ask for it. */
  #killing: Promise<boolean> | undefined;

  constructor(name: string, parent: string, ioCount?: readonly string[]) {
    this.name = name;
    this.#ioCount = ioCount ? new Set(ioCount) : undefined;
    this.dir = join(parent, name);
    this.dirs = [this.dir];
    this.procsFiles = [join(this.dir, 'cgroup.procs')];
  }

  /**
   * Make the group and apply the writes whose controller is enabled in it (the kernel lists
   * them in the child's cgroup.controllers; `fallback` is used where that file is absent).
   * Limits of a missing controller are skipped: health() reports them as not enforced.
   */
  create(writes: readonly ControlWrite[], fallback: readonly string[]): void {
    mkdirSync(this.dir, { recursive: true });
    const listed = readText(join(this.dir, 'cgroup.controllers'));
    const enabled = new Set(listed === undefined ? fallback : listed.trim().split(/\s+/));
    for (const w of writes) {
      if (!enabled.has(w.file.slice(0, w.file.indexOf('.')))) continue;
      const file = join(this.dir, w.file);
      if (w.optional) tryWrite(file, w.value);
      else writeControl(file, w.value);
    }
  }

  #f(file: string): string {
    return join(this.dir, file);
  }

  addPid(pid: number): void {
    writeControl(this.#f('cgroup.procs'), pid);
  }

  pids(): number[] {
    return readPids(this.#f('cgroup.procs'));
  }

  usage(): GroupUsage {
    const u: GroupUsage = { measured: [] };
    const measured: UsageField[] = [];
    const cpu = parseFlatKeyed(readText(this.#f('cpu.stat')));
    if (cpu.usage_usec !== undefined) {
      u.cpuMs = cpu.usage_usec / 1000;
      measured.push('cpuMs');
    }
    u.memoryBytes = readNumber(this.#f('memory.current'));
    // memory.peak exists since Linux 5.19; without it the peak is not measured (never guessed).
    const peak = readNumber(this.#f('memory.peak'));
    if (peak !== undefined) {
      u.memoryPeakBytes = peak;
      measured.push('memoryPeakBytes');
    }
    const io = parseIoStat(readText(this.#f('io.stat')), this.#ioCount);
    if (io) {
      u.ioReadBytes = io.read;
      u.ioWriteBytes = io.write;
      measured.push('ioReadBytes', 'ioWriteBytes');
    }
    u.pids = readNumber(this.#f('pids.current'));
    u.measured = measured;
    return u;
  }

  oomKilled(): boolean {
    return (parseFlatKeyed(readText(this.#f('memory.events'))).oom_kill ?? 0) > 0;
  }

  pidsLimitHit(): boolean {
    return (parseFlatKeyed(readText(this.#f('pids.events'))).max ?? 0) > 0;
  }

  async freeze(): Promise<void> {
    if (!tryWrite(this.#f('cgroup.freeze'), '1')) return;
    await waitFor(() => parseFlatKeyed(readText(this.#f('cgroup.events'))).frozen === 1, 1000);
  }

  async thaw(): Promise<void> {
    tryWrite(this.#f('cgroup.freeze'), '0');
  }

  setCpu(cores: number | undefined): void {
    writeControl(
      this.#f('cpu.max'),
      cores === undefined ? `max ${CPU_PERIOD_US}` : `${cpuQuotaUs(cores)} ${CPU_PERIOD_US}`,
    );
  }

  kill(): Promise<boolean> {
    const killFile = this.#f('cgroup.kill');
    this.#killing ??= killGroup({
      pids: () => this.pids(),
      freeze: () => this.freeze(),
      thaw: () => this.thaw(),
      // cgroup.kill (Linux 5.14+) kills the whole group atomically, forks included.
      killAll: () => exists(killFile) && tryWrite(killFile, '1'),
    }).finally(() => {
      this.#killing = undefined;
    });
    return this.#killing;
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    await this.kill();
    if (!removeGroupDir(this.dir)) {
      await this.kill();
      await waitFor(() => removeGroupDir(this.dir), 2000, 20);
    }
    this.#destroyed = !exists(this.dir);
  }
}
