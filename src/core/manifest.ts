import { isIP } from 'node:net';
import { z } from 'zod';
import { RUNTIMES, TRUST_LEVELS } from './tiers.ts';

/** A runtime an executor plugin may add (the built-in names are taken). */
export const PLUGIN_RUNTIME = /^[a-z][a-z0-9-]{1,31}$/;

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

const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$/;

/** An allow-list entry: a host name or address, optionally with `:port`, or a CIDR range. */
export function isNetworkTarget(entry: string): boolean {
  if (entry.length > 300) return false;
  const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
  if (cidr) {
    const family = isIP(cidr[1] as string);
    return family !== 0 && Number(cidr[2]) <= (family === 4 ? 32 : 128);
  }
  if (isIP(entry) === 6) return true;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry);
  if (bracketed) return isIP(bracketed[1] as string) === 6 && portOk(bracketed[2]);
  const [host, port, ...rest] = entry.split(':');
  return rest.length === 0 && HOST.test(host as string) && portOk(port);
}
const portOk = (port: string | undefined) =>
  port === undefined || (/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535);

const networkTarget = z
  .string()
  .refine(isNetworkTarget, 'an allow-list entry is a host, host:port, [IPv6]:port or a CIDR range like 10.1.2.0/24');

/**
 * Outbound network as a manifest asks for it: `false` (default), `true` (all, for tiers that can
 * only do all-or-nothing), `{allow: [...]}`, or the older array form, which means `{allow: [...]}`.
 */
export const networkPermissionSchema = z
  .union([z.boolean(), z.object({ allow: z.array(networkTarget).max(256) }).strict(), z.array(networkTarget).max(256)])
  .default(false);
export type NetworkPermission = z.output<typeof networkPermissionSchema>;

/** How much network a permission asks for, in the words tiers and the node's policy use. */
export type NetworkLevel = 'none' | 'allowlist' | 'all';
export const NETWORK_LEVELS: readonly NetworkLevel[] = ['none', 'allowlist', 'all'];

/** The one reading of `permissions.network` (every form, stored manifests included). */
export function networkAsk(network: NetworkPermission | undefined): { level: NetworkLevel; allow: string[] } {
  const level = networkLevelOf(network);
  if (level !== 'allowlist') return { level, allow: [] };
  return { level, allow: Array.isArray(network) ? network : (network as { allow: string[] }).allow };
}

/** Just the level (no allocation: placement asks it on every invocation). */
export function networkLevelOf(network: NetworkPermission | undefined): NetworkLevel {
  if (network === true) return 'all';
  if (!network) return 'none';
  return (Array.isArray(network) ? network.length : network.allow.length) > 0 ? 'allowlist' : 'none';
}

/** Whether a tier granting network as `tier` can honour an ask of `asked` without granting more. */
export function networkGrantable(asked: NetworkLevel, tier: NetworkLevel): boolean {
  if (asked === 'none') return true;
  // An allow-list must be enforced; "all" needs a tier that grants any network at all.
  return asked === 'allowlist' ? tier === 'allowlist' : tier !== 'none';
}

/** A secret's name in the worker's secret store. */
export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const headerName = z.string().regex(HEADER_NAME, 'a header name is an HTTP token');
/** Header values: no CR/LF (header injection). */
const headerValue = z
  .string()
  .max(8192)
  .regex(/^[^\r\n\0]*$/, 'a header value has no line breaks');

/** `{"Authorization": {"secret": "acme-token", "format": "Bearer {}"}}`: secrets sent as headers. */
export const httpSecretsSchema = z.record(
  headerName,
  z
    .object({
      secret: z.string().regex(SECRET_NAME, 'a secret name matches [A-Za-z0-9_.-]{1,128}'),
      format: headerValue.refine((f) => f.includes('{}'), 'format needs "{}" where the secret goes').optional(),
    })
    .strict(),
);

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export const permissionsSchema = z
  .object({
    network: networkPermissionSchema,
    /** A private, empty, per-invocation temp directory (WASM preopen, process /tmp). */
    tmp: z.boolean().default(false),
    /** Environment variables the function may see (never the worker's own). */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    /** Names of the worker's secrets the function may use (no default: older digests stay the same). */
    secrets: z.array(z.string().regex(SECRET_NAME, 'a secret name matches [A-Za-z0-9_.-]{1,128}')).max(64).optional(),
  })
  .strict();

export const manifestSchema = z
  .object({
    name: z.string().regex(FUNCTION_NAME, 'name must match [a-z0-9][a-z0-9-]{0,62}'),
    /** A built-in runtime, or one an executor plugin adds (docs/plugins.md); deploy refuses one no tier runs. */
    runtime: z.union([z.enum(RUNTIMES), z.string().regex(PLUGIN_RUNTIME)], {
      error: () => `runtime must be one of ${RUNTIMES.join(', ')}, or the name of a runtime an executor plugin adds`,
    }),
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
    url: z
      .url()
      .refine((u) => /^https?:\/\//i.test(u), 'url must be http:// or https://')
      .optional(),
    /** runtime "http": method (default POST), fixed headers, secret headers, retries (idempotent methods only). */
    method: z.enum(HTTP_METHODS).optional(),
    headers: z.record(headerName, headerValue).optional(),
    secrets: httpSecretsSchema.optional(),
    retries: z.number().int().min(0).max(10).optional(),
    /** WASM: the export to call. */
    entry: z.string().optional(),
    limits: limitsSchema.default({}),
    permissions: permissionsSchema.default({ network: false, tmp: false, env: {} }),
    /** Higher runs first when the worker queues. */
    priority: z.number().int().min(0).max(1000).default(0),
    labels: z.record(z.string(), z.string()).default({}),
    /** A JSON Schema for the input, checked by the input-schema plugin (plugins/input-schema); pre hooks see it. */
    inputSchema: z.record(z.string(), z.unknown()).optional(),
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
