/**
 * vitest globalSetup: one Node compile cache (NODE_COMPILE_CACHE) for the run. The suites spawn
 * the real CLI and server hundreds of times, each loading some 300 modules; with the cache a
 * start compiles nothing it compiled before (about half the CPU of a CLI start). Set before the
 * test processes fork, so they and every node they spawn inherit it; removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  if (process.env.NODE_COMPILE_CACHE) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'strata-test-node-cache-'));
  process.env.NODE_COMPILE_CACHE = dir;
  return () => {
    delete process.env.NODE_COMPILE_CACHE;
    rmSync(dir, { recursive: true, force: true });
  };
}
