/**
 * vitest globalSetup: one JS engine cache for the whole run, so the wasm tier's engines
 * (seconds to build) are built once per run, by whichever test needs one first (the cache's
 * build lock makes the other test processes wait for it), and removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    wasmEngineCache: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'strata-test-engines-'));
  project.provide('wasmEngineCache', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
