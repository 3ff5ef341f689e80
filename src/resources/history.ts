/**
 * Usage history in node:sqlite: per-execution sample series (what GET /v1/executions/:id/usage
 * returns) and node totals, pruned by age and by a per-execution cap.
 */
import type { Database } from '../store/database.ts';
import type { GroupUsage } from './cgroup/group.ts';
import type { NodeTotals } from './node-stats.ts';

export const RESOURCES_MIGRATIONS = [
  `CREATE TABLE resource_samples (
     execution_id TEXT NOT NULL, at INTEGER NOT NULL, cpu_ms REAL, memory_bytes INTEGER,
     memory_peak_bytes INTEGER, io_read_bytes INTEGER, io_write_bytes INTEGER, pids INTEGER);
   CREATE INDEX resource_samples_exec ON resource_samples (execution_id, at);
   CREATE INDEX resource_samples_at ON resource_samples (at);`,
  `CREATE TABLE node_samples (
     at INTEGER NOT NULL, cpu_usage REAL, memory_total_bytes INTEGER, memory_available_bytes INTEGER,
     load1 REAL, disk_free_bytes INTEGER);
   CREATE INDEX node_samples_at ON node_samples (at);`,
  `CREATE TABLE usage_baselines (
     function_key TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL);`,
];

/** One point of an execution's series; figures not read are left out. */
export type UsageSample = Omit<GroupUsage, 'measured'> & { at: number };

export interface HistoryOptions {
  retentionMs: number;
  samplesPerExecution: number;
}

type Row = Record<string, number | string | null>;

const COLUMNS: [keyof UsageSample, string][] = [
  ['cpuMs', 'cpu_ms'],
  ['memoryBytes', 'memory_bytes'],
  ['memoryPeakBytes', 'memory_peak_bytes'],
  ['ioReadBytes', 'io_read_bytes'],
  ['ioWriteBytes', 'io_write_bytes'],
  ['pids', 'pids'],
];

export class UsageHistory {
  readonly #db: Database;
  readonly #options: HistoryOptions;

  constructor(db: Database, options: HistoryOptions) {
    this.#db = db;
    this.#options = options;
    db.migrate('resources', RESOURCES_MIGRATIONS);
  }

  addSample(executionId: string, at: number, u: GroupUsage): void {
    // Only figures the cgroup really reports go in; the rest stay NULL (not measured).
    const cpu = u.measured.includes('cpuMs') ? u.cpuMs : undefined;
    const peak = u.measured.includes('memoryPeakBytes') ? u.memoryPeakBytes : undefined;
    const io = u.measured.includes('ioReadBytes');
    this.#db.db
      .prepare(
        'INSERT INTO resource_samples (execution_id, at, cpu_ms, memory_bytes, memory_peak_bytes, io_read_bytes, io_write_bytes, pids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        executionId,
        at,
        cpu ?? null,
        u.memoryBytes ?? null,
        peak ?? null,
        io ? (u.ioReadBytes ?? null) : null,
        io ? (u.ioWriteBytes ?? null) : null,
        u.pids ?? null,
      );
  }

  samples(executionId: string): UsageSample[] {
    const rows = this.#db.db
      .prepare('SELECT * FROM resource_samples WHERE execution_id = ? ORDER BY at, rowid')
      .all(executionId) as Row[];
    return rows.map((r) => {
      const s: UsageSample = { at: Number(r.at) };
      for (const [key, col] of COLUMNS) if (r[col] !== null && r[col] !== undefined) s[key] = Number(r[col]);
      return s;
    });
  }

  addNode(t: NodeTotals): void {
    this.#db.db
      .prepare(
        'INSERT INTO node_samples (at, cpu_usage, memory_total_bytes, memory_available_bytes, load1, disk_free_bytes) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        t.at,
        t.cpuUsage ?? null,
        t.memoryTotalBytes ?? null,
        t.memoryAvailableBytes ?? null,
        t.load1,
        t.diskFreeBytes ?? null,
      );
  }

  nodeSamples(sinceMs = 0): { at: number; cpuUsage?: number; memoryAvailableBytes?: number; load1: number }[] {
    const rows = this.#db.db.prepare('SELECT * FROM node_samples WHERE at >= ? ORDER BY at').all(sinceMs) as Row[];
    return rows.map((r) => ({
      at: Number(r.at),
      ...(r.cpu_usage !== null ? { cpuUsage: Number(r.cpu_usage) } : {}),
      ...(r.memory_available_bytes !== null ? { memoryAvailableBytes: Number(r.memory_available_bytes) } : {}),
      load1: Number(r.load1),
    }));
  }

  /** Drop samples past the retention and past the per-execution cap (newest kept). */
  prune(now = Date.now()): number {
    const cutoff = now - this.#options.retentionMs;
    const db = this.#db.db;
    let removed = Number(db.prepare('DELETE FROM resource_samples WHERE at < ?').run(cutoff).changes);
    removed += Number(db.prepare('DELETE FROM node_samples WHERE at < ?').run(cutoff).changes);
    removed += Number(
      db
        .prepare(
          `DELETE FROM resource_samples WHERE rowid IN (
             SELECT rowid FROM (SELECT rowid, ROW_NUMBER() OVER (PARTITION BY execution_id ORDER BY at DESC, rowid DESC) AS n
                                FROM resource_samples) WHERE n > ?)`,
        )
        .run(this.#options.samplesPerExecution).changes,
    );
    return removed;
  }
}
