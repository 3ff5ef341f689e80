/** Baselines per function version in node:sqlite, and a count of anomalies for /metrics. */
import type { Usage } from '../core/execution.ts';
import type { Database } from '../store/database.ts';
import { type AnomalyFlag, type AnomalySettings, type Baseline, emptyBaseline, observe } from './anomaly.ts';
import { RESOURCES_MIGRATIONS } from './history.ts';

export const functionKey = (name: string, version: number): string => `${name}@${version}`;

export class BaselineStore {
  readonly #db: Database;
  readonly #settings: AnomalySettings;
  /** Anomalies flagged since start, by flag (exported as a Prometheus counter by the lead). */
  readonly counts: Record<AnomalyFlag, number> = { cpu_high: 0, memory_high: 0 };

  constructor(db: Database, settings: AnomalySettings) {
    this.#db = db;
    this.#settings = settings;
    db.migrate('resources', RESOURCES_MIGRATIONS);
  }

  get(key: string): Baseline {
    const row = this.#db.db.prepare('SELECT state FROM usage_baselines WHERE function_key = ?').get(key) as
      | { state: string }
      | undefined;
    return row ? (JSON.parse(row.state) as Baseline) : emptyBaseline();
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
    this.#db.db
      .prepare(
        'INSERT INTO usage_baselines (function_key, state, updated_at) VALUES (?, ?, ?) ON CONFLICT(function_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
      )
      .run(key, JSON.stringify(baseline), Date.now());
    for (const f of flags) this.counts[f]++;
    return flags;
  }
}
