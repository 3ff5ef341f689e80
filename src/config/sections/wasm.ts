import { z } from 'zod';

/** Settings of the wasm part (filled in by the issue that builds it). */
export const wasmSection = z.object({}).prefault({});
