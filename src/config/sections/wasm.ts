import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { boolean, duration, integer, size } from '../units.ts';

/** Settings of the WASM tier (sandboxes/wasm; docs/wasm-tier.md). */
export const wasmSection = z
  .object({
    /** Wasm host processes (supervised children running guests in worker threads). */
    hosts: integer().positive().default(1),
    /** Guest worker threads per host: each is one execution slot. */
    threadsPerHost: integer().positive().default(Math.max(2, availableParallelism())),
    /**
     * Guest threads each host starts at once (the rest start when concurrent invocations need
     * them, and stay): an idle thread holds ~25 MB, and one warm thread serves sequential calls.
     */
    warmThreads: integer().positive().default(1),
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
    /** Longest a deploy's compile, transform or validation may run (off the serving thread); over it the deploy is refused. */
    compileTimeout: duration().default(60_000),
    /**
     * How long the compile thread (binaryen, jco) stays after its last job: it holds ~90 MB
     * after a component deploy, so an idle worker lets it go; the next deploy starts it again.
     */
    compileIdle: duration().default(2000),
    /** Most memory (JS heap + tools' linear memory) a deploy's compile may use; over it the deploy is refused. */
    compileMemory: size().default(1024 ** 3),
    /** Where the JS engine components are cached (shareable by several data dirs); empty means the cache dir. */
    engineCacheDir: z.string().default(''),
    /** Build the JS engines in the background (low priority, 10 s after start) so the first JS deploy finds them. */
    prebuildEngines: boolean().default(true),
  })
  .prefault({});

export type WasmConfig = z.output<typeof wasmSection>;
