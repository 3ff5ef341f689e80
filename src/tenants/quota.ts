/**
 * Per-tenant quotas: how many invocations run and wait at once, how many start per second (a
 * token bucket), how many functions and artifact bytes a tenant keeps, and ceilings on the limits
 * its functions may ask (below the node's). Every field is optional: absent means "no tenant
 * limit" (the node's own bounds still hold). Set in config (`tenants.quotas`, `tenants.defaultQuota`)
 * and at run time with PUT /v1/tenants/:id/quota, which wins over config.
 */
import { z } from 'zod';
import { StrataError } from '../core/errors.ts';
import type { Database } from '../store/database.ts';

const count = () => z.coerce.number().int().nonnegative();

export const quotaSchema = z
  .object({
    /** Invocations of the tenant running at once; past it they wait (see `queued`) or get 429. */
    concurrency: count().optional(),
    /** Invocations of the tenant waiting for a slot; past it: 429 quota_exceeded. */
    queued: count().optional(),
    /** Invocations per second (token bucket); past it: 429 rate_limited with Retry-After. */
    rate: z.coerce.number().positive().optional(),
    /** Bucket size: invocations that may start at once after a quiet spell (default: max(1, rate)). */
    burst: count().optional(),
    /** Live functions the tenant may keep; past it a deploy of a new name answers 403. */
    functions: count().optional(),
    /** Bytes of stored code (all live versions); past it a deploy answers 403. */
    artifactBytes: z
      .union([count(), z.string()])
      .transform((v, ctx) => {
        if (typeof v === 'number') return v;
        const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(v);
        const units: Record<string, number> = {
          b: 1,
          kb: 1e3,
          mb: 1e6,
          gb: 1e9,
          kib: 1024,
          mib: 1024 ** 2,
          gib: 1024 ** 3,
        };
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `expected bytes or a size like "64MiB", got ${JSON.stringify(v)}` });
          return z.NEVER;
        }
        return Math.floor(Number(m[1]) * (units[(m[2] ?? 'b').toLowerCase()] as number));
      })
      .optional(),
    /** Ceilings on what the tenant's functions may ask (memoryMb, timeoutMs, cpu). */
    maxLimits: z
      .object({
        memoryMb: z.coerce.number().positive().optional(),
        timeoutMs: z.coerce.number().positive().optional(),
        cpu: z.coerce.number().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Quota = z.output<typeof quotaSchema>;

export function parseQuota(input: unknown): Quota {
  const parsed = quotaSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'quota'}: ${i.message}`);
  throw new StrataError('invalid_request', `invalid quota: ${problems.join('; ')}`, { issues: problems });
}

const MIGRATIONS = [
  `CREATE TABLE tenant_quotas (
     tenant TEXT PRIMARY KEY,
     quota TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
];

/** Quotas set over the API; config gives the rest (per tenant, then the default). */
export class QuotaStore {
  readonly #db: Database;
  readonly #config: { defaultQuota: Quota; quotas: Record<string, Quota> };
  readonly #cache = new Map<string, Quota>();
  /** Tenants whose quota has ceilings on limits (the pre hook runs only while one does). */
  readonly #ceilings = new Set<string>();

  constructor(db: Database, config: { defaultQuota: Quota; quotas: Record<string, Quota> }) {
    this.#db = db;
    this.#config = config;
    db.migrate('tenant-quotas', MIGRATIONS);
    if (config.defaultQuota.maxLimits) this.#ceilings.add('*');
    for (const [tenant, quota] of Object.entries(config.quotas)) if (quota.maxLimits) this.#ceilings.add(tenant);
    const rows = db.db.prepare('SELECT tenant, quota FROM tenant_quotas').all() as { tenant: string; quota: string }[];
    for (const row of rows) {
      if ((JSON.parse(row.quota) as Quota).maxLimits) this.#ceilings.add(row.tenant);
      else this.#ceilings.delete(row.tenant);
    }
  }

  /** Whether any tenant has ceilings on limits. */
  anyCeilings(): boolean {
    return this.#ceilings.size > 0;
  }

  /** The quota in force for a tenant. */
  get(tenant: string): Quota {
    const cached = this.#cache.get(tenant);
    if (cached) return cached;
    const row = this.#db.db.prepare('SELECT quota FROM tenant_quotas WHERE tenant = ?').get(tenant) as
      | { quota: string }
      | undefined;
    const quota = row
      ? (JSON.parse(row.quota) as Quota)
      : (this.#config.quotas[tenant] ?? this.#config.defaultQuota ?? {});
    this.#cache.set(tenant, quota);
    return quota;
  }

  set(tenant: string, quota: Quota, now: number): Quota {
    this.#db.db
      .prepare(
        `INSERT INTO tenant_quotas (tenant, quota, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (tenant) DO UPDATE SET quota = excluded.quota, updated_at = excluded.updated_at`,
      )
      .run(tenant, JSON.stringify(quota), new Date(now).toISOString());
    this.#cache.set(tenant, quota);
    if (quota.maxLimits) this.#ceilings.add(tenant);
    else this.#ceilings.delete(tenant);
    return quota;
  }

  /** Tenants with a quota set over the API or in config. */
  tenants(): string[] {
    const rows = this.#db.db.prepare('SELECT tenant FROM tenant_quotas').all() as { tenant: string }[];
    return [...new Set([...rows.map((r) => r.tenant), ...Object.keys(this.#config.quotas)])].sort();
  }
}
