/** Zod schemas of the API's answers, for the OpenAPI document (the routes build these objects). */
import { z } from 'zod';
import { EXECUTION_STATUSES } from '../routes/execution-logs.ts';

const errorInfo = z.object({ code: z.string(), message: z.string() });

export const usageSchema = z
  .looseObject({
    wallMs: z.number(),
    cpuMs: z.number().optional(),
    memoryPeakBytes: z.number().optional(),
    ioReadBytes: z.number().optional(),
    ioWriteBytes: z.number().optional(),
    netRxBytes: z.number().optional(),
    netTxBytes: z.number().optional(),
    fuelConsumed: z.number().optional(),
    measured: z.array(z.string()),
  })
  .meta({ id: 'Usage' });

export const recordSchema = z
  .looseObject({
    id: z.string(),
    function: z.object({ name: z.string(), version: z.number().int(), digest: z.string() }),
    status: z.enum(EXECUTION_STATUSES),
    result: z.unknown().optional(),
    error: errorInfo.optional(),
    logs: z.string(),
    usage: usageSchema,
    tier: z.string().nullable(),
    priority: z.number(),
    source: z.enum(['http', 'master']),
    timings: z.object({
      queuedMs: z.number(),
      enqueuedAt: z.string(),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
    }),
    anomalies: z.array(z.string()).optional(),
    death: z
      .looseObject({ cause: z.string(), limit: z.number().optional(), at: z.string(), usage: usageSchema })
      .optional(),
    start: z.object({ kind: z.enum(['cold', 'warm', 'fresh', 'prewarmed']), initMs: z.number() }).optional(),
    placement: z
      .object({ tier: z.string().nullable(), requested: z.string().nullable(), reason: z.string().optional() })
      .optional(),
    plugins: z.looseObject({}).optional(),
    tenant: z.string().optional(),
  })
  .meta({ id: 'ExecutionRecord' });

export const executionPageSchema = z
  .object({ items: z.array(recordSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'ExecutionPage' });

export const logsSchema = z
  .object({ executionId: z.string(), status: z.enum(EXECUTION_STATUSES), logs: z.string() })
  .meta({ id: 'ExecutionLogs' });

export const logStreamDescription =
  'Server-Sent Events: `log` events (`data: {"seq": n, "text": "..."}`, seq from 1 in order) and one last `end` event (`data: {"status": "..."}`); a finished execution replays its stored logs and ends at once.';

export const functionSchema = z
  .looseObject({
    name: z.string(),
    version: z.number().int(),
    digest: z.string(),
    tier: z.string().nullable(),
    runtime: z.string(),
    trust: z.string(),
    codeDigest: z.string().optional(),
    codeSize: z.number().optional(),
    createdAt: z.string(),
  })
  .meta({ id: 'Function' });

export const functionDetailSchema = functionSchema
  .extend({
    versions: z.array(z.number().int()),
    aliases: z.record(z.string(), z.number().int()),
    source: z.string().optional(),
  })
  .meta({ id: 'FunctionDetail' });

export const deployedSchema = functionSchema
  .extend({ created: z.boolean(), sameAs: z.number().int().optional(), compile: z.unknown().optional() })
  .meta({ id: 'Deployed' });

export const aliasSchema = z
  .looseObject({ alias: z.string(), version: z.number().int(), updatedAt: z.string().optional() })
  .meta({ id: 'Alias' });

export const healthSchema = z
  .looseObject({
    status: z.literal('ok'),
    version: z.string().optional(),
    uptimeSeconds: z.number().optional(),
    executor: z.looseObject({}).optional(),
    tiers: z.record(z.string(), z.looseObject({ available: z.boolean(), reason: z.string().optional() })).optional(),
  })
  .meta({ id: 'Health' });

export const usageSeriesSchema = z
  .object({
    executionId: z.string(),
    samples: z.array(
      z.looseObject({
        at: z.number(),
        cpuMs: z.number().optional(),
        memoryBytes: z.number().optional(),
        memoryPeakBytes: z.number().optional(),
        ioReadBytes: z.number().optional(),
        ioWriteBytes: z.number().optional(),
        pids: z.number().optional(),
      }),
    ),
  })
  .meta({ id: 'UsageSeries' });

export const invokeInputSchema = z.unknown().describe('the function input, any JSON value');
