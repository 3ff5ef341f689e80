import { z } from 'zod';
import { quotaSchema } from '../../tenants/quota.ts';
import { boolean, secret } from '../units.ts';

/** Tenants, API keys, quotas and the audit log (docs/tenants.md). */
export const tenantsSection = z
  .object({
    /**
     * A bootstrap admin key of the `default` tenant (STRATA_ADMIN_TOKEN): create the real keys
     * with it (POST /v1/keys, `strata keys create`). At least 16 characters.
     */
    adminToken: secret(
      z.union([z.literal(''), z.string().min(16, 'the admin token must be at least 16 characters')]),
    ).default(''),
    /** A token that may read /metrics only (for a scraper); any valid key may too. */
    metricsToken: secret(z.string()).default(''),
    /** Serve without any key on an address other than loopback (everyone is admin then). */
    insecure: boolean().default(false),
    /** The quota of every tenant that has none of its own (JSON; fields as in PUT /v1/tenants/:id/quota). */
    defaultQuota: quotaSchema.default({}),
    /** Quotas by tenant id (JSON object); one set with PUT /v1/tenants/:id/quota wins over it. */
    quotas: z.record(z.string(), quotaSchema).default({}),
    /** Also append every audit entry as a JSON line to this file, relative to dataDir (empty: the database only). */
    auditFile: z.string().default(''),
  })
  .prefault({});
