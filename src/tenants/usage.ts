/**
 * Usage per tenant and UTC day: invocations, CPU milliseconds and memory-MiB-seconds (peak memory
 * times wall time, where the tier measured the peak), added up as records finish.
 *
 * The records finishing in one event-loop turn are summed in memory per tenant and day and
 * written inside the records' next group commit (src/store/database.ts rideNext), or in a
 * transaction of their own after RIDE_MS when none comes (an upsert per invocation outside any
 * transaction was ~4% of the worker's CPU, a second commit per turn ~3%). Every read flushes first, and so does closing the database, so
 * what `days` answers always includes every record observed.
 */
import type { ExecutionRecord } from '../core/execution.ts';
import type { Database, Rider } from '../store/database.ts';
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

/** How long a pending sum waits for the records' next group commit before committing on its own. */
const RIDE_MS = 20;
/** After a failed write, the retry. */
const RETRY_MS = 1000;

export class TenantUsage {
  readonly #db: Database;
  readonly #add;
  /** Sums not written yet, by tenant and day. */
  #pending = new Map<string, PendingDay>();
  /** The sums a transaction wrote, until it settles (back to pending if it rolled back). */
  #taken: Map<string, PendingDay> | undefined;
  /** Whether the rider waits in the database for the next transaction. */
  #riding = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #rider: Rider = {
    write: () => {
      const taken = this.#pending;
      this.#pending = new Map();
      this.#taken = taken;
      for (const s of taken.values()) this.#add.run(s.tenant, s.day, s.invocations, s.cpuMs, s.mbSeconds);
    },
    settled: (committed) => {
      this.#riding = false;
      const taken = this.#taken;
      this.#taken = undefined;
      if (!committed && taken) this.#restore(taken);
      if (this.#pending.size > 0) this.#ride(committed ? RIDE_MS : RETRY_MS);
    },
  };

  constructor(db: Database) {
    this.#db = db;
    db.migrate('tenant-usage', MIGRATIONS);
    this.#add = db.db.prepare(
      `INSERT INTO tenant_usage (tenant, day, invocations, cpu_ms, memory_mb_seconds) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant, day) DO UPDATE SET invocations = invocations + excluded.invocations,
         cpu_ms = cpu_ms + excluded.cpu_ms, memory_mb_seconds = memory_mb_seconds + excluded.memory_mb_seconds`,
    );
    db.beforeClose(() => this.#flushQuietly());
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
    } else this.#pending.set(key, { tenant, day, invocations: 1, cpuMs: cpuMs ?? 0, mbSeconds });
    this.#ride(RIDE_MS);
  }

  /** Commit the pending sums now (in a transaction of their own); a failure keeps them pending and throws. */
  flush(): void {
    if (this.#riding && this.#db.db.isOpen) this.#db.transaction(() => {});
  }

  /** Wait for the next transaction, or open one after `delayMs`. */
  #ride(delayMs: number): void {
    if (this.#riding) return;
    this.#riding = true;
    this.#db.rideNext(this.#rider);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flushQuietly(), delayMs);
    this.#timer.unref();
  }

  #flushQuietly(): void {
    try {
      this.flush();
    } catch {
      // The rider's settled(false) kept the sums and set the retry.
    }
  }

  #restore(taken: Map<string, PendingDay>): void {
    for (const [key, s] of taken) {
      const later = this.#pending.get(key);
      if (later) {
        later.invocations += s.invocations;
        later.cpuMs += s.cpuMs;
        later.mbSeconds += s.mbSeconds;
      } else this.#pending.set(key, s);
    }
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
