/**
 * vitest globalSetup: one Node compile cache (NODE_COMPILE_CACHE) for the suites. They spawn the
 * real CLI and server hundreds of times, each loading some 300 modules; with the cache a start
 * compiles nothing compiled before (about half the CPU of a CLI start). Set before the test
 * processes fork, so they and every node they spawn inherit it.
 *
 * It lives in test-artifacts/ (git-ignored) and is kept between runs: Node keys every entry by
 * its version and the source's hash, so a stale entry is never used. Not a temp dir removed at
 * the end, because a test process still exiting after the teardown writes its entries then and
 * would leave a fresh temp dir behind.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  if (process.env.NODE_COMPILE_CACHE || process.env.NODE_DISABLE_COMPILE_CACHE) return;
  const dir = join(import.meta.dirname, '..', '..', 'test-artifacts', 'node-compile-cache');
  mkdirSync(dir, { recursive: true });
  process.env.NODE_COMPILE_CACHE = dir;
}
