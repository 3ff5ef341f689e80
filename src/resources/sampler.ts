/**
 * Periodic sampling (default every second): each running invocation's cgroup, plus the node's
 * totals, into the usage history. Node totals are also kept in memory for the heartbeat.
 */
import type { CgroupGroup } from './cgroup/group.ts';
import type { UsageHistory } from './history.ts';
import type { NodeStats, NodeTotals } from './node-stats.ts';

export interface SampledGroup {
  invocationId: string;
  group: CgroupGroup;
}

export interface SamplerOptions {
  intervalMs: number;
  /** The groups running now (for example `cgroups.sandboxGroups()`). */
  groups: () => Iterable<SampledGroup>;
  history: UsageHistory;
  node: NodeStats;
  /** Called with each node reading (capacity model, dynamic CPU, reclamation). */
  onNode?: (totals: NodeTotals) => void;
  /** Prune the history every this many ticks. */
  pruneEvery?: number;
}

export class Sampler {
  readonly #o: SamplerOptions;
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  /** Samples taken since start, and read errors (a group removed mid-read). */
  samples = 0;
  errors = 0;

  constructor(options: SamplerOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#timer) return;
    this.#o.node.read(); // a first CPU snapshot, so the first tick has a usage figure
    this.#timer = setInterval(() => this.tick(), this.#o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One round of reads (the timer calls this; tests call it directly). */
  tick(now = Date.now()): NodeTotals {
    for (const { invocationId, group } of this.#o.groups()) {
      try {
        this.#o.history.addSample(invocationId, now, group.usage());
        this.samples++;
      } catch {
        this.errors++;
      }
    }
    const totals = this.#o.node.read();
    this.#o.history.addNode(totals);
    this.#o.onNode?.(totals);
    if (++this.#ticks % (this.#o.pruneEvery ?? 60) === 0) this.#o.history.prune(now);
    return totals;
  }

  /** The latest node totals (heartbeat content). */
  nodeTotals(): NodeTotals | undefined {
    return this.#o.node.latest();
  }
}

export const createSampler = (options: SamplerOptions): Sampler => new Sampler(options);
