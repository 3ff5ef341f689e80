/**
 * Per-invocation usage from a container's cgroup: a baseline before, a reading after, the
 * difference in between. Warm containers outlive the invocation, so the figures are exact; a
 * cold container's cgroup disappears when it exits, so it is sampled while it runs and the last
 * sample stands (a slight undercount, documented).
 */
import type { Usage, UsageField } from '../../src/core/execution.ts';
import { usageOf } from '../../src/core/execution.ts';
import { type CgroupCounters, type ContainerCgroup, readCounters, resetPeak } from './cgroup-usage.ts';

export class UsageMeter {
  readonly #cg: ContainerCgroup | undefined;
  #base: CgroupCounters = {};
  #last: CgroupCounters = {};
  #peakFresh = false;
  #timer: NodeJS.Timeout | undefined;
  /** Bytes through the egress proxy during the invocation, when it had network. */
  net: { rx: number; tx: number } | undefined;

  constructor(cg: ContainerCgroup | undefined) {
    this.#cg = cg;
  }

  /** Baseline; `fresh` means the container is new (its peak covers only this invocation). */
  begin(fresh: boolean): void {
    if (!this.#cg) return;
    this.#peakFresh = fresh || resetPeak(this.#cg);
    this.#base = readCounters(this.#cg);
    this.#last = { ...this.#base };
  }

  /** Sample every `ms` until end() (cold containers). */
  sample(ms: number): void {
    this.#timer = setInterval(() => this.read(), ms);
    this.#timer.unref();
  }

  /**
   * The container's cgroup could not be read at the last reading though it could at begin() (the
   * container is gone): the figures since are the last good ones, and its OOM counter says nothing.
   */
  vanished = false;

  read(): CgroupCounters {
    if (!this.#cg) return {};
    const now = readCounters(this.#cg);
    this.vanished = now.memoryPeakBytes === undefined && this.#base.memoryPeakBytes !== undefined;
    // A vanished cgroup reads as undefined: keep the last good figures.
    for (const [k, v] of Object.entries(now) as [keyof CgroupCounters, number | undefined][]) {
      if (v !== undefined) this.#last[k] = v;
    }
    return this.#last;
  }

  /** OOM kills in the container's cgroup since begin(), when the counter exists. */
  oomKillsSinceBegin(): number | undefined {
    const now = this.read().oomKills;
    return now === undefined || this.#base.oomKills === undefined ? undefined : now - this.#base.oomKills;
  }

  /** Forks refused at the pids limit since begin(), when the counter exists. */
  pidsHitsSinceBegin(): number | undefined {
    const now = this.read().pidsMaxHits;
    return now === undefined || this.#base.pidsMaxHits === undefined ? undefined : now - this.#base.pidsMaxHits;
  }

  end(wallMs: number, readNow = true): Usage {
    if (this.#timer) clearInterval(this.#timer);
    const net = this.net ? { netRxBytes: this.net.rx, netTxBytes: this.net.tx } : {};
    if (!this.#cg) return usageOf({ wallMs, ...net });
    const last = readNow ? this.read() : this.#last;
    const delta = (field: keyof CgroupCounters): number | undefined => {
      const a = this.#base[field];
      const b = last[field];
      return a === undefined || b === undefined ? undefined : Math.max(0, b - a);
    };
    const cpuNs = delta('cpuNs');
    const figures: Partial<Record<UsageField, number | undefined>> & { wallMs: number } = {
      wallMs,
      cpuMs: cpuNs === undefined ? undefined : Math.round(cpuNs / 1e4) / 100,
      memoryPeakBytes: this.#peakFresh ? last.memoryPeakBytes : undefined,
      ioReadBytes: delta('ioReadBytes'),
      ioWriteBytes: delta('ioWriteBytes'),
      ...net,
    };
    return usageOf(figures);
  }
}
