/**
 * Usage per tenant and UTC day: invocations, CPU milliseconds and memory-MiB-seconds (peak memory
 * times wall time, where the tier measured the peak), added up as records finish.
 *
 * The records finishing in one event-loop turn are summed in memory per tenant and day and
 * written in one transaction on the next turn (an upsert per invocation outside any transaction
 * was ~4% of the worker's CPU). Every read flushes first, and so does closing the database, so
 * what `days` answers always includes every record observed.
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

interface PendingDay {
  tenant: string;
  day: string;
  invocations: number;
  cpuMs: number;
  mbSeconds: number;
}

export class TenantUsage {
  readonly #db: Database;
  readonly #add;
  /** Sums not written yet, by tenant and day. */
  #pending = new Map<string, PendingDay>();
  #flushScheduled = false;

  constructor(db: Database) {
    this.#db = db;
    db.migrate('tenant-usage', MIGRATIONS);
    this.#add = db.db.prepare(
      `INSERT INTO tenant_usage (tenant, day, invocations, cpu_ms, memory_mb_seconds) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant, day) DO UPDATE SET invocations = invocations + excluded.invocations,
         cpu_ms = cpu_ms + excluded.cpu_ms, memory_mb_seconds = memory_mb_seconds + excluded.memory_mb_seconds`,
    );
    db.beforeClose(() => this.flush());
  }

  observe(record: ExecutionRecord): void {
    const day = (record.timings.finishedAt ?? new Date().toISOString()).slice(0, 10);
    const { cpuMs, memoryPeakBytes, wallMs } = record.usage;
    const mbSeconds = memoryPeakBytes !== undefined ? (memoryPeakBytes / 1024 ** 2) * (wallMs / 1000) : 0;
    const tenant = tenantOf(record);
    const key = `${tenant}\n${day}`;
    const sums = this.#pending.get(key);
    if (sums) {
      sums.invocations++;
      sums.cpuMs += cpuMs ?? 0;
      sums.mbSeconds += mbSeconds;
      return;
    }
    if (!this.#flushScheduled) this.#schedule(false);
    this.#pending.set(key, { tenant, day, invocations: 1, cpuMs: cpuMs ?? 0, mbSeconds });
  }

  /** Write the pending sums, in one transaction; on failure they stay pending (and the error is thrown). */
  flush(): void {
    if (this.#pending.size === 0 || !this.#db.db.isOpen) return;
    const pending = this.#pending;
    this.#pending = new Map();
    try {
      this.#db.transaction(() => {
        for (const s of pending.values()) this.#add.run(s.tenant, s.day, s.invocations, s.cpuMs, s.mbSeconds);
      });
    } catch (err) {
      for (const [key, s] of pending) {
        const later = this.#pending.get(key);
        if (later) {
          later.invocations += s.invocations;
          later.cpuMs += s.cpuMs;
          later.mbSeconds += s.mbSeconds;
        } else this.#pending.set(key, s);
      }
      if (!this.#flushScheduled) this.#schedule(true);
      throw err;
    }
  }

  /** The next turn's flush, or after a failure (a busy or broken database) a retry in a second. */
  #schedule(retry: boolean): void {
    this.#flushScheduled = true;
    const run = () => {
      this.#flushScheduled = false;
      try {
        this.flush();
      } catch {
        // flush() kept the sums and scheduled the retry.
      }
    };
    if (retry) setTimeout(run, 1000).unref();
    else setImmediate(run);
  }

  days(tenant: string): TenantDay[] {
    this.flush();
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
