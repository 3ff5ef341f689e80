/**
 * The tenants service: who a bearer token is (keys, the bootstrap admin token, the older shared
 * tokens), the quotas in force, the per-tenant rate buckets, the audit log, and the checks a
 * deploy and an invocation go through. One per worker; the gateway's auth middleware and the
 * tenant-aware routes use it, the executor asks it for each tenant's concurrency and queue.
 */
import { timingSafeEqual } from 'node:crypto';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { StrataError } from '../core/errors.ts';
import type { PhaseHooks, PreHook } from '../executor/phases.ts';
import type { FunctionVersion, Registry } from '../registry/registry.ts';
import type { Database } from '../store/database.ts';
import { AuditLog } from './audit-log.ts';
import { ceilingRefusal, deployCeilingRefusal } from './ceilings.ts';
import { type KeyRefusal, KeyStore } from './key-store.ts';
import { DEFAULT_TENANT, tenantOfKey } from './namespace.ts';
import type { Principal } from './principal.ts';
import { type Quota, QuotaStore } from './quota.ts';
import { RateLimiter } from './rate-limiter.ts';

export interface TenantsOptions {
  db: Database;
  config: Config;
  /** Epoch ms; tests inject a clock for expiry and the rate buckets. */
  now?: () => number;
}

interface StaticToken {
  bytes: Buffer;
  principal: Principal;
}

/** The principal of an API without keys (loopback only): the default tenant's admin. */
/** A host name or address that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export const OPEN_PRINCIPAL: Principal = Object.freeze({
  keyId: 'open',
  tenant: DEFAULT_TENANT,
  scopes: ['admin'] as const,
});

export class Tenants {
  readonly keys: KeyStore;
  readonly quotas: QuotaStore;
  readonly audit: AuditLog;
  readonly now: () => number;
  readonly #config: Config;
  readonly #rates: RateLimiter;
  readonly #tokens: StaticToken[] = [];
  readonly #metricsToken: Buffer | undefined;

  constructor(options: TenantsOptions) {
    const { db, config } = options;
    this.now = options.now ?? Date.now;
    this.#config = config;
    this.keys = new KeyStore(db, { now: this.now });
    this.quotas = new QuotaStore(db, config.tenants);
    const file = config.tenants.auditFile;
    // A relative audit file lives in the data dir, beside the database.
    this.audit = new AuditLog(db, { file: file && resolve(config.dataDir, file), now: this.now });
    this.#rates = new RateLimiter(this.now);
    const admin = config.tenants.adminToken;
    if (admin) this.#addToken(admin, 'admin-token');
    // The shared tokens from before keys existed: admin keys of the default tenant.
    config.apiTokens.forEach((token, i) => {
      this.#addToken(token, `api-token-${i + 1}`);
    });
    if (config.tenants.metricsToken) this.#metricsToken = Buffer.from(config.tenants.metricsToken);
  }

  #addToken(token: string, keyId: string): void {
    this.#tokens.push({ bytes: Buffer.from(token), principal: { keyId, tenant: DEFAULT_TENANT, scopes: ['admin'] } });
  }

  /** Whether the API asks for a key at all (any token configured or key made). */
  secured(): boolean {
    return this.#tokens.length > 0 || this.keys.hasKeys();
  }

  /**
   * Without any key the API is everyone's: allowed only on loopback, unless the operator insists
   * (`--insecure`, STRATA_TENANTS_INSECURE=1). Throws `invalid_config` saying how to fix it.
   */
  assertSafeBind(host: string, server: 'worker' | 'Master'): void {
    if (this.secured() || this.#config.tenants.insecure || isLoopbackHost(host)) return;
    throw new StrataError(
      'invalid_config',
      `refusing to serve the ${server} API on ${host} without API keys: set STRATA_ADMIN_TOKEN (then create keys with \`strata keys create\`), bind to 127.0.0.1, or pass --insecure (STRATA_TENANTS_INSECURE=1) to insist`,
    );
  }

  /** The principal a bearer token stands for, or why not. */
  authenticate(token: string): Principal | KeyRefusal {
    if (token.startsWith('stk_')) return this.keys.verify(token);
    const given = Buffer.from(token);
    let found: Principal | undefined;
    // Compare with every token (no early exit), each in constant time.
    for (const t of this.#tokens) {
      if (t.bytes.length === given.length && timingSafeEqual(t.bytes, given)) found ??= t.principal;
    }
    return found ?? 'unknown';
  }

  isMetricsToken(token: string): boolean {
    const given = Buffer.from(token);
    return (
      !!this.#metricsToken && this.#metricsToken.length === given.length && timingSafeEqual(this.#metricsToken, given)
    );
  }

  quota(tenant: string): Quota {
    return this.quotas.get(tenant);
  }

  /** An invocation's token from the tenant's bucket: 429 rate_limited with Retry-After when empty. */
  takeInvocation(tenant: string): void {
    const { rate, burst } = this.quota(tenant);
    if (rate === undefined) return;
    const taken = this.#rates.take(tenant, rate, burst);
    if (!taken.ok) {
      throw new StrataError(
        'rate_limited',
        `tenant ${tenant} may start ${rate} invocations per second; retry after ${Math.ceil(taken.retryAfterMs / 1000)} s`,
        { retryAfterMs: taken.retryAfterMs, quota: 'rate', tenant },
      );
    }
  }

  /** What the executor holds a tenant to (concurrency, queued). */
  admission(tenant: string): { concurrency?: number; queued?: number } | undefined {
    const { concurrency, queued } = this.quota(tenant);
    if (concurrency === undefined && queued === undefined) return undefined;
    return { ...(concurrency !== undefined ? { concurrency } : {}), ...(queued !== undefined ? { queued } : {}) };
  }

  /**
   * A deploy's quota checks (403 quota_exceeded naming the quota): ceilings on its limits, the
   * number of live functions (a new name only) and the stored code bytes.
   */
  checkDeploy(
    registry: Registry,
    tenant: string,
    plan: {
      manifest: { name: string; limits?: FunctionVersion['manifest']['limits'] };
      code: Uint8Array;
      digest: string;
    },
  ): void {
    const quota = this.quota(tenant);
    const ceiling = deployCeilingRefusal(plan.manifest.limits ?? {}, this.#config.limits, quota, tenant);
    if (ceiling) throw ceiling;
    if (quota.functions === undefined && quota.artifactBytes === undefined) return;
    const live = registry.list().filter((fn) => tenantOfKey(fn.name) === tenant);
    const isNew = !live.some((fn) => fn.name === plan.manifest.name);
    if (quota.functions !== undefined && isNew && live.length >= quota.functions) {
      throw new StrataError(
        'quota_exceeded',
        `tenant ${tenant} may keep ${quota.functions} functions and has ${live.length}; delete one first`,
        { quota: 'functions', tenant, limit: quota.functions },
      );
    }
    if (quota.artifactBytes !== undefined) {
      let stored = 0;
      for (const fn of live) for (const v of registry.versions(fn.name)) stored += v.codeSize;
      const adds = registry.getByDigest(plan.digest) ? 0 : plan.code.byteLength;
      if (stored + adds > quota.artifactBytes) {
        throw new StrataError(
          'quota_exceeded',
          `tenant ${tenant} may store ${quota.artifactBytes} bytes of code and has ${stored}; this deploy adds ${adds}`,
          { quota: 'artifactBytes', tenant, limit: quota.artifactBytes },
        );
      }
    }
  }

  /** The executor's hooks from tenants: the ceilings pre hook, only while some tenant has ceilings. */
  hooks(): PhaseHooks {
    const hook = [this.ceilingHook()];
    return { pre: () => (this.quotas.anyCeilings() ? hook : []), post: () => [], monitor: () => [] };
  }

  /** The pre hook that holds each invocation to its tenant's ceilings (a quota lowered after deploy). */
  ceilingHook(): PreHook {
    return {
      name: 'tenant-ceilings',
      pre: (inv) => {
        const tenant = inv.tenant ?? DEFAULT_TENANT;
        const refusal = ceilingRefusal(inv.limits, this.quota(tenant), tenant);
        return refusal ? { reject: refusal.message, code: 'quota_exceeded' } : undefined;
      },
    };
  }
}
