/**
 * The operator's routes for the OpenAPI document: keys, tenants, audit (src/tenants), secrets and
 * review decisions (src/governance), plugins and alerts (src/plugins). Request schemas are the
 * ones the routes validate with where they have one (quotas, secrets).
 */
import { z } from 'zod';
import { PLUGIN_KINDS } from '../../plugins/manifest.ts';
import { PLUGIN_STATES } from '../../plugins/metrics.ts';
import { quotaSchema } from '../../tenants/quota.ts';
import { SCOPES } from '../../tenants/scopes.ts';
import { secretBody } from '../routes/secrets.ts';
import type { ApiRoute } from './document.ts';

const time = z.string().describe('ISO time');

export const apiKeySchema = z
  .object({
    id: z.string(),
    tenant: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: time,
    expiresAt: time.nullable(),
    lastUsedAt: time.nullable(),
    revokedAt: time.nullable(),
  })
  .meta({ id: 'ApiKey' });

const createdKeySchema = apiKeySchema
  .omit({ lastUsedAt: true, revokedAt: true })
  .extend({ key: z.string().describe('the key itself, shown this once') })
  .meta({ id: 'ApiKeyCreated' });

const keyBody = z.object({
  tenant: z.string().describe('tenant id, [a-z0-9][a-z0-9-]{0,62}'),
  scopes: z.union([z.array(z.enum(SCOPES)), z.string().describe('comma-separated scopes')]),
  expires: z.string().optional().describe('a duration from now ("30d", "12h") or an ISO time'),
});

/** The quota in force, as stored (sizes in bytes). */
const quotaOut = z
  .object({
    concurrency: z.number().int().optional(),
    queued: z.number().int().optional(),
    rate: z.number().optional(),
    burst: z.number().int().optional(),
    functions: z.number().int().optional(),
    artifactBytes: z.number().int().optional(),
    maxLimits: z
      .object({ memoryMb: z.number().optional(), timeoutMs: z.number().optional(), cpu: z.number().optional() })
      .optional(),
  })
  .meta({ id: 'Quota' });

const tenantQuotaSchema = z.object({ tenant: z.string(), quota: quotaOut }).meta({ id: 'TenantQuota' });

const tenantUsageSchema = z
  .object({
    tenant: z.string(),
    days: z.array(
      z.object({
        day: z.string().describe('UTC day, YYYY-MM-DD'),
        invocations: z.number(),
        cpuMs: z.number(),
        memoryMbSeconds: z.number(),
      }),
    ),
  })
  .meta({ id: 'TenantUsage' });

const auditEntrySchema = z
  .object({
    seq: z.number().int(),
    at: time,
    keyId: z.string().nullable(),
    tenant: z.string().nullable(),
    action: z.string(),
    target: z.string().nullable(),
    result: z.enum(['ok', 'denied', 'failed']),
    status: z.number().int().nullable(),
    client: z.string().nullable(),
    requestId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'AuditEntry' });

const auditQuery = z.object({
  tenant: z.string().optional().describe('only this tenant'),
  since: z.string().optional().describe('at or after (ISO time or epoch ms)'),
  limit: z.string().optional().describe('1 to 1000 (default 100)'),
  cursor: z.string().optional().describe('nextCursor of the previous page'),
});

const secretInfoSchema = z.object({ name: z.string(), createdAt: time, updatedAt: time }).meta({ id: 'SecretInfo' });

const reviewSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    verdict: z.enum(['pass', 'warn', 'reject', 'pending']),
    findings: z.array(
      z.object({
        rule: z.string(),
        severity: z.enum(['info', 'warn', 'reject']),
        message: z.string(),
        line: z.number().optional(),
      }),
    ),
    reviewedAt: time,
    reviewer: z.string(),
    state: z.enum(['active', 'pending', 'rejected']),
    automatic: z.enum(['pass', 'warn', 'reject']).describe("the automatic review's own verdict"),
    decidedAt: time.optional(),
  })
  .meta({ id: 'Review' });

const pluginSchema = z
  .object({
    name: z.string(),
    version: z.string().nullable(),
    kinds: z.array(z.enum(PLUGIN_KINDS)),
    state: z.enum(PLUGIN_STATES),
    health: z.object({
      status: z.enum(['ok', 'degraded', 'down']),
      recentFailures: z.number().int(),
      lastError: z.string().optional(),
    }),
    requires: z.record(z.string(), z.string()),
    loadedAt: time.nullable(),
    path: z.string(),
    source: z.enum(['dir', 'config']),
    error: z.string().optional(),
    tier: z.string().optional(),
    description: z.string().optional(),
  })
  .meta({ id: 'Plugin' });

const alertSchema = z
  .object({
    id: z.string(),
    at: time,
    severity: z.enum(['info', 'warning', 'critical']),
    source: z.string().describe('plugin:<name>, tier:<name> or anomaly'),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Alert' });

const pluginAction = (action: 'reload' | 'disable' | 'enable', summary: string): ApiRoute => ({
  method: 'post',
  path: `/v1/plugins/:name/${action}`,
  tag: 'plugins',
  summary,
  responses: { 200: { description: 'the plugin after it', schema: pluginSchema } },
  errors: action === 'disable' ? ['not_found', 'conflict', 'forbidden'] : ['not_found', 'forbidden'],
});

const reviewDecision = (decision: 'approve' | 'reject', summary: string): ApiRoute => ({
  method: 'post',
  path: `/v1/functions/:name/versions/:v/${decision}`,
  tag: 'governance',
  summary,
  responses: { 200: { description: 'the review after the decision', schema: reviewSchema } },
  errors: ['not_found', 'invalid_request', 'forbidden', ...(decision === 'approve' ? (['conflict'] as const) : [])],
});

export const ADMIN_ROUTES: readonly ApiRoute[] = [
  {
    method: 'post',
    path: '/v1/keys',
    tag: 'tenants',
    summary: 'Create an API key (admin); the key is shown this once',
    body: keyBody,
    responses: { 201: { description: 'the new key', schema: createdKeySchema } },
    errors: ['invalid_request', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/keys',
    tag: 'tenants',
    summary: 'List API keys (admin), never their text',
    query: z.object({ tenant: z.string().optional().describe('only this tenant') }),
    responses: { 200: { description: 'the keys', schema: z.object({ keys: z.array(apiKeySchema) }) } },
    errors: ['invalid_request', 'forbidden'],
  },
  {
    method: 'delete',
    path: '/v1/keys/:id',
    tag: 'tenants',
    summary: 'Revoke an API key (admin); it stops working at once',
    responses: { 200: { description: 'the key, revoked', schema: apiKeySchema } },
    errors: ['not_found', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/tenants',
    tag: 'tenants',
    summary: 'Tenants with keys or quotas, and their quotas (admin)',
    responses: {
      200: {
        description: 'the tenants',
        schema: z.object({ tenants: z.array(z.object({ id: z.string(), quota: quotaOut })) }),
      },
    },
    errors: ['forbidden'],
  },
  {
    method: 'get',
    path: '/v1/tenants/:id/quota',
    tag: 'tenants',
    summary: 'The quota in force for a tenant (admin)',
    responses: { 200: { description: 'the quota', schema: tenantQuotaSchema } },
    errors: ['invalid_request', 'forbidden'],
  },
  {
    method: 'put',
    path: '/v1/tenants/:id/quota',
    tag: 'tenants',
    summary: 'Replace a tenant quota (admin); {} removes every limit',
    body: quotaSchema,
    responses: { 200: { description: 'the quota now in force', schema: tenantQuotaSchema } },
    errors: ['invalid_request', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/tenants/:id/usage',
    tag: 'tenants',
    summary: 'Usage of a tenant by UTC day (admin)',
    responses: { 200: { description: 'the days', schema: tenantUsageSchema } },
    errors: ['invalid_request', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/audit',
    tag: 'tenants',
    summary: 'The audit log, oldest first, cursor-paged (admin)',
    query: auditQuery,
    responses: {
      200: {
        description: 'a page; nextCursor null on the last',
        schema: z.object({ items: z.array(auditEntrySchema), nextCursor: z.string().nullable() }),
      },
    },
    errors: ['invalid_request', 'forbidden'],
  },
  {
    method: 'post',
    path: '/v1/secrets',
    tag: 'governance',
    summary: 'Set a secret (admin); functions read it through ctx',
    body: secretBody,
    responses: {
      201: { description: 'a new secret', schema: secretInfoSchema },
      200: { description: 'replaced', schema: secretInfoSchema },
    },
    errors: ['invalid_request', 'payload_too_large', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/secrets',
    tag: 'governance',
    summary: 'Secret names and times (admin), never values',
    responses: { 200: { description: 'the secrets', schema: z.object({ secrets: z.array(secretInfoSchema) }) } },
    errors: ['forbidden'],
  },
  {
    method: 'delete',
    path: '/v1/secrets/:name',
    tag: 'governance',
    summary: 'Delete a secret (admin)',
    responses: {
      200: { description: 'deleted', schema: z.object({ name: z.string(), deleted: z.literal(true) }) },
    },
    errors: ['not_found', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/functions/:name/review',
    tag: 'governance',
    summary: 'The review report of a version (latest, or ?version=)',
    query: z.object({ version: z.string().optional().describe('a version number or alias') }),
    responses: { 200: { description: 'the review', schema: reviewSchema } },
    errors: ['not_found', 'invalid_request'],
  },
  reviewDecision('approve', 'Approve a version waiting for review (admin)'),
  reviewDecision('reject', 'Reject a version for good (admin)'),
  {
    method: 'get',
    path: '/v1/plugins',
    tag: 'plugins',
    summary: 'Plugins, by name (admin)',
    responses: { 200: { description: 'the plugins', schema: z.array(pluginSchema) } },
    errors: ['forbidden'],
  },
  {
    method: 'get',
    path: '/v1/plugins/:name',
    tag: 'plugins',
    summary: 'One plugin (admin)',
    responses: { 200: { description: 'the plugin', schema: pluginSchema } },
    errors: ['not_found', 'forbidden'],
  },
  pluginAction('reload', 'Load the plugin again from its folder (admin)'),
  pluginAction('disable', 'Stop a plugin and keep it stopped (admin)'),
  pluginAction('enable', 'Start a disabled plugin again (admin)'),
  {
    method: 'delete',
    path: '/v1/plugins/:name',
    tag: 'plugins',
    summary: 'Unload a plugin (admin)',
    responses: { 200: { description: 'the plugin, unloaded', schema: pluginSchema } },
    errors: ['not_found', 'conflict', 'forbidden'],
  },
  {
    method: 'get',
    path: '/v1/alerts',
    tag: 'plugins',
    summary: 'Recent alerts, newest first (admin)',
    query: z.object({ limit: z.string().optional().describe('at most this many (a whole number >= 1)') }),
    responses: { 200: { description: 'the alerts', schema: z.array(alertSchema) } },
    errors: ['invalid_request', 'forbidden'],
  },
];
