/** Baselines per function version in node:sqlite, and a count of anomalies for /metrics. */
import type { Usage } from '../core/execution.ts';
import type { Database } from '../store/database.ts';
import { type AnomalyFlag, type AnomalySettings, type Baseline, emptyBaseline, observe } from './anomaly.ts';
import { RESOURCES_MIGRATIONS } from './history.ts';

export const functionKey = (name: string, version: number): string => `${name}@${version}`;

/**
 * Baselines live in memory (read once from node:sqlite per function version) and are written
 * behind, in one transaction per `flush()`: judging an invocation costs no database round trip
 * on the hot path. A crash loses at most the last interval's learning, never a record.
 */
export class BaselineStore {
  readonly #db: Database;
  readonly #settings: AnomalySettings;
  readonly #cache = new Map<string, Baseline>();
  readonly #dirty = new Set<string>();
  readonly #select;
  readonly #upsert;
  /** Anomalies flagged since start, by flag (exported as a Prometheus counter). */
  readonly counts: Record<AnomalyFlag, number> = { cpu_high: 0, memory_high: 0 };

  constructor(db: Database, settings: AnomalySettings) {
    this.#db = db;
    this.#settings = settings;
    db.migrate('resources', RESOURCES_MIGRATIONS);
    this.#select = db.db.prepare('SELECT state FROM usage_baselines WHERE function_key = ?');
    this.#upsert = db.db.prepare(
      'INSERT INTO usage_baselines (function_key, state, updated_at) VALUES (?, ?, ?) ON CONFLICT(function_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
    );
  }

  get(key: string): Baseline {
    let baseline = this.#cache.get(key);
    if (!baseline) {
      const row = this.#select.get(key) as { state: string } | undefined;
      baseline = row ? (JSON.parse(row.state) as Baseline) : emptyBaseline();
      if (this.#cache.size >= 10_000) {
        this.flush();
        this.#cache.clear();
      }
      this.#cache.set(key, baseline);
    }
    return baseline;
  }

  /**
   * Judge a finished invocation's usage against its function version's baseline, then learn
   * from it. Only measured figures count. Returns the flags for the record's `anomalies`.
   */
  observe(key: string, usage: Usage): AnomalyFlag[] {
    const sample = {
      cpuMs: usage.measured.includes('cpuMs') ? usage.cpuMs : undefined,
      memoryPeakBytes: usage.measured.includes('memoryPeakBytes') ? usage.memoryPeakBytes : undefined,
    };
    const { flags, baseline } = observe(this.get(key), sample, this.#settings);
    this.#cache.set(key, baseline);
    this.#dirty.add(key);
    for (const f of flags) this.counts[f]++;
    return flags;
  }

  /** Write the baselines changed since the last flush (the sampler calls it; so does stop()). */
  flush(): void {
    if (this.#dirty.size === 0 || !this.#db.db.isOpen) return;
    const now = Date.now();
    this.#db.transaction(() => {
      for (const key of this.#dirty) this.#upsert.run(key, JSON.stringify(this.#cache.get(key)), now);
    });
    this.#dirty.clear();
  }
}
