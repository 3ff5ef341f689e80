/**
 * Messages between the serving process and a plugin's worker thread. What the thread sends is
 * hostile (plugin code wrote it): the host validates every message with these schemas and treats
 * a violation as the plugin failing, never as an error of its own.
 */
import { z } from 'zod';

export type HostMessage =
  | { t: 'call'; id: number; op: CallOp; args: unknown[] }
  | { t: 'abort'; runId: number; reason: { code: string; message: string } };

export type CallOp =
  | 'init'
  | 'unload'
  | 'pre'
  | 'post'
  | 'event'
  | 'ping'
  | 'driver.start'
  | 'driver.health'
  | 'driver.prepare'
  | 'driver.run'
  | 'driver.forget'
  | 'driver.dispose';

const capabilities = z
  .object({
    runtimes: z
      .array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/))
      .min(1)
      .max(16),
    measures: z.array(z.string().max(40)).max(16).default([]),
    pause: z.literal(false).default(false),
    enforces: z.array(z.string().max(40)).max(32).default([]),
    network: z.enum(['none', 'all', 'allowlist']).default('none'),
    ownProcesses: z.boolean().default(false),
  })
  .strip();

const health = z.object({
  available: z.boolean(),
  reason: z.string().max(2000).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** What the plugin object has, reported once after the factory ran. */
export const readySchema = z.object({
  t: z.literal('ready'),
  has: z.object({
    init: z.boolean(),
    unload: z.boolean(),
    pre: z.boolean(),
    post: z.boolean(),
    onEvent: z.boolean(),
  }),
  driver: z.object({ tier: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), capabilities, health }).optional(),
});
export type Ready = z.output<typeof readySchema>;

export const threadMessageSchema = z.discriminatedUnion('t', [
  readySchema,
  z.object({ t: z.literal('failed'), error: z.string().max(10_000) }),
  z.object({
    t: z.literal('result'),
    id: z.number().int(),
    ok: z.boolean(),
    value: z.unknown().optional(),
    error: z.string().max(10_000).optional(),
  }),
  z.object({
    t: z.literal('log'),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    msg: z.string().max(10_000),
    data: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({
    t: z.literal('metric'),
    op: z.enum(['counter', 'gauge', 'histogram', 'inc', 'set', 'observe']),
    name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,99}$/),
    help: z.string().max(500).optional(),
    labelNames: z
      .array(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,49}$/))
      .max(10)
      .optional(),
    labels: z.record(z.string(), z.string().max(200)).optional(),
    value: z.number().finite().optional(),
  }),
  z.object({
    t: z.literal('alert'),
    message: z.string().max(2000),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ t: z.literal('runLog'), runId: z.number().int(), text: z.string().max(1024 * 1024) }),
  z.object({ t: z.literal('runStart'), runId: z.number().int() }),
  z.object({ t: z.literal('health'), health }),
]);
export type ThreadMessage = z.output<typeof threadMessageSchema>;
export type HealthMessage = z.output<typeof health>;

/** A driver's run outcome as the thread reports it (checked before the executor sees it). */
export const outcomeSchema = z.object({
  status: z.enum(['succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed']),
  result: z.unknown().optional(),
  error: z.object({ code: z.string().max(64), message: z.string().max(10_000) }).optional(),
  usage: z.record(z.string(), z.unknown()).optional(),
});
