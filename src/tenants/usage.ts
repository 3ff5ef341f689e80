/**
 * Usage per tenant and UTC day: invocations, CPU milliseconds and memory-MiB-seconds (peak memory
 * times wall time, where the tier measured the peak), added up as records finish.
 */
import type { ExecutionRecord } from '../core/execution.ts';
import type { Database } from '../store/database.ts';
import { tenantOf } from './namespace.ts';

const MIGRATIONS = [
  `CREATE TABLE tenant_usage (
     tenant TEXT NOT NULL,
     day TEXT NOT NULL,
     invocations INTEGER NOT NULL,
     cpu_ms REAL NOT NULL,
     memory_mb_seconds REAL NOT NULL,
     PRIMARY KEY (tenant, day)
   );`,
];

export interface TenantDay {
  day: string;
  invocations: number;
  cpuMs: number;
  memoryMbSeconds: number;
}

export class TenantUsage {
  readonly #db: Database;
  readonly #add;

  constructor(db: Database) {
    this.#db = db;
    db.migrate('tenant-usage', MIGRATIONS);
    this.#add = db.db.prepare(
      `INSERT INTO tenant_usage (tenant, day, invocations, cpu_ms, memory_mb_seconds) VALUES (?, ?, 1, ?, ?)
       ON CONFLICT (tenant, day) DO UPDATE SET invocations = invocations + 1,
         cpu_ms = cpu_ms + excluded.cpu_ms, memory_mb_seconds = memory_mb_seconds + excluded.memory_mb_seconds`,
    );
  }

  observe(record: ExecutionRecord): void {
    const day = (record.timings.finishedAt ?? new Date().toISOString()).slice(0, 10);
    const { cpuMs, memoryPeakBytes, wallMs } = record.usage;
    const mbSeconds = memoryPeakBytes !== undefined ? (memoryPeakBytes / 1024 ** 2) * (wallMs / 1000) : 0;
    this.#add.run(tenantOf(record), day, cpuMs ?? 0, mbSeconds);
  }

  days(tenant: string): TenantDay[] {
    const rows = this.#db.db
      .prepare('SELECT day, invocations, cpu_ms, memory_mb_seconds FROM tenant_usage WHERE tenant = ? ORDER BY day')
      .all(tenant) as { day: string; invocations: number; cpu_ms: number; memory_mb_seconds: number }[];
    return rows.map((r) => ({
      day: r.day,
      invocations: r.invocations,
      cpuMs: Math.round(r.cpu_ms * 1000) / 1000,
      memoryMbSeconds: Math.round(r.memory_mb_seconds * 1000) / 1000,
    }));
  }
}
