import { z } from 'zod';
import { duration, integer } from '../units.ts';

export const executorSection = z
  .object({
    /** Invocations running at once on this worker. */
    concurrency: integer().positive().default(64),
    /** Invocations waiting for a slot, highest priority first; past this the worker answers 503. */
    queueSize: integer().nonnegative().default(1024),
    /** Retry-After sent with 503 when the worker is full. */
    retryAfter: duration().default(1000),
    /** How long graceful shutdown waits for in-flight invocations. */
    shutdownGrace: duration().default(10_000),
    /** Finished execution records kept (oldest pruned first). */
    recordRetention: integer().positive().default(100_000),
    /** Budget of one pre or post hook call (plugins, governance); an overrun counts as a hook failure. */
    hookBudget: duration().default(50),
    /** How often tiers that do not push their health changes are polled for them. */
    healthPoll: duration().default(1000),
  })
  .prefault({});
