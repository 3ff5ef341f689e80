import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { duration, integer, size } from '../units.ts';

/** Settings of the WASM tier (sandboxes/wasm; docs/wasm-tier.md). */
export const wasmSection = z
  .object({
    /** Wasm host processes (supervised children running guests in worker threads). */
    hosts: integer().positive().default(1),
    /** Guest worker threads per host: each is one execution slot. */
    threadsPerHost: integer().positive().default(Math.max(2, availableParallelism())),
    /** V8 heap ceiling of a guest thread (backstop; linear memory is capped at upload). */
    threadHeap: size().default(64 * 1024 ** 2),
    /** Where transformed modules and transpiled components are cached; empty means <dataDir>/wasm-cache. */
    cacheDir: z.string().default(''),
    /** Grace between a cancel and killing the host process that does not honour it. */
    killAfter: duration().default(1000),
    /** Largest upload accepted by the raw application/wasm route. */
    maxUpload: size().default(32 * 1024 ** 2),
    /**
     * Compiler for `standard` JS functions turned into components: `auto` picks QuickJS for
     * synchronous functions and StarlingMonkey when the source may await (docs/wasm-tier.md).
     */
    jsEngine: z.enum(['auto', 'starlingmonkey', 'quickjs']).default('auto'),
  })
  .prefault({});

export type WasmConfig = z.output<typeof wasmSection>;
