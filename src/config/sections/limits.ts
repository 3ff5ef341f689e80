import { z } from 'zod';
import { duration, integer, size } from '../units.ts';

/** Defaults for limits a manifest leaves out, and the node's caps on what a manifest may ask. */
export const limitsSection = z
  .object({
    default: z
      .object({
        timeout: duration().default(5000),
        memory: size().default(128 * 1024 ** 2),
        logBytes: size().default(1024 ** 2),
        resultBytes: size().default(8 * 1024 ** 2),
        pids: integer().positive().default(64),
        tmp: size().default(64 * 1024 ** 2),
      })
      .prefault({}),
    max: z
      .object({
        timeout: duration().default(300_000),
        memory: size().default(4 * 1024 ** 3),
        logBytes: size().default(16 * 1024 ** 2),
        resultBytes: size().default(32 * 1024 ** 2),
        pids: integer().positive().default(1024),
        tmp: size().default(1024 ** 3),
        cpu: z.coerce.number().positive().default(64),
      })
      .prefault({}),
    /** Longest error message (and stack) a record keeps; the middle of a longer one is cut with a marker. */
    errorBytes: size().default(16 * 1024),
    /** Deepest nesting of arrays/objects a result may have; deeper ends failed/result_not_serializable. */
    resultDepth: integer().min(1).max(4000).default(1000),
  })
  .prefault({});
