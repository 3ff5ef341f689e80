import { z } from 'zod';
import { RUNTIMES, TRUST_LEVELS } from './tiers.ts';

/** A function's name: DNS-label-like, so it is safe in URLs, labels and file names. */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

const cpuset = z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'cpuset must look like "0-1" or "0,2"');

export const limitsSchema = z
  .object({
    timeoutMs: z.number().int().positive(),
    memoryMb: z.number().int().min(8, 'memoryMb must be at least 8'),
    memorySoftMb: z.number().int().positive(),
    cpu: z.number().positive().max(1024),
    cpuWeight: z.number().int().min(1).max(10000),
    cpuset,
    pids: z.number().int().positive(),
    ioReadBps: z.number().int().positive(),
    ioWriteBps: z.number().int().positive(),
    ioWeight: z.number().int().min(1).max(10000),
    tmpMb: z.number().int().positive(),
    logBytes: z.number().int().min(256, 'logBytes must be at least 256'),
    fuel: z.number().int().positive(),
  })
  .partial()
  .strict();

export const permissionsSchema = z
  .object({
    /**
     * Outbound network: false (default), true (any public destination), or `{allow: [...]}` of
     * host, host:port, CIDR (the older bare array means the same as `{allow}`).
     */
    network: z
      .union([z.boolean(), z.array(z.string().min(1)), z.object({ allow: z.array(z.string().min(1)) }).strict()])
      .default(false),
    /** A private, empty, per-invocation temp directory (WASM preopen, process /tmp). */
    tmp: z.boolean().default(false),
    /** Environment variables the function may see (never the worker's own). */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  })
  .strict();

export const manifestSchema = z
  .object({
    name: z.string().regex(FUNCTION_NAME, 'name must match [a-z0-9][a-z0-9-]{0,62}'),
    runtime: z.enum(RUNTIMES),
    trust: z.enum(TRUST_LEVELS).default('standard'),
    description: z.string().max(1024).optional(),
    /** JS module or script text. */
    source: z.string().optional(),
    /** Script interpreter (runtime "script"). */
    interpreter: z.enum(['bash', 'sh', 'python3', 'node']).optional(),
    /** Container image and command (runtime "container"). */
    image: z.string().optional(),
    command: z.array(z.string()).optional(),
    /** The user's own HTTP API (runtime "http"). */
    url: z.url().optional(),
    /** WASM: the export to call. */
    entry: z.string().optional(),
    limits: limitsSchema.default({}),
    permissions: permissionsSchema.default({ network: false, tmp: false, env: {} }),
    /** Higher runs first when the worker queues. */
    priority: z.number().int().min(0).max(1000).default(0),
    labels: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((m, ctx) => {
    const need = (field: keyof typeof m, why: string) => {
      if (m[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: why });
    };
    if (m.runtime === 'js') need('source', 'runtime "js" needs "source": an ES module with a default export');
    if (m.runtime === 'script') {
      need('source', 'runtime "script" needs "source": the script text');
      need('interpreter', 'runtime "script" needs "interpreter": bash, sh, python3 or node');
    }
    if (m.runtime === 'container') need('image', 'runtime "container" needs "image"');
    if (m.runtime === 'http') need('url', 'runtime "http" needs "url"');
  });

/** A manifest as submitted (defaults not yet applied). */
export type ManifestInput = z.input<typeof manifestSchema>;
/** A validated manifest with defaults applied. */
export type Manifest = z.output<typeof manifestSchema>;
