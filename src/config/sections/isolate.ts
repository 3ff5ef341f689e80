import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { integer, size } from '../units.ts';

export const isolateSection = z
  .object({
    /**
     * Isolate host processes (each a supervised child holding isolates): one per two cores. A
     * host runs its isolates on threads of its own and spends ~0.1-0.3 ms of CPU per call against
     * the main process' ~0.3 ms, so one host keeps up with what one main process can serve; every
     * extra host costs ~60-120 MB of RSS while idle (docs/benchmarks.md, idle worker memory).
     */
    hosts: integer()
      .positive()
      .default(Math.max(1, Math.floor(availableParallelism() / 2))),
    /** Warm isolates kept per function version per host (LRU past `maxWarm`). */
    maxWarm: integer().positive().default(256),
    /**
     * `auto`: warm calls of a function that has proven fast (16 calls in a row under 2 ms) run on
     * the host's own thread, saving two thread wake-ups per call; the first slow call sends the
     * function back to its isolate's thread (sandboxes/isolate/sync-calls.ts). `never`: every call
     * runs on the isolate's thread, so a host never waits for one call's synchronous code.
     */
    syncCalls: z.enum(['auto', 'never']).default('auto'),
    /** Memory cap for a host process' own cgroup, as a multiple of its isolates' limits. */
    hostMemoryFactor: z.coerce.number().min(1).default(3),
    /** Compiled-code cache per host (bytes of V8 cached data). */
    codeCacheBytes: size().default(64 * 1024 ** 2),
  })
  .prefault({});
