/** The functions the benchmark deploys, one place so every row runs the same code. */

/** The JS function every JS row runs (isolate warm and fresh, docker, and the baselines). */
export const JS_SOURCE = 'export default (input) => ({ doubled: input.n * 2 })';
export const jsInput = (i: number) => ({ n: i });
export const checkJs = (result: unknown, i: number): void => {
  if ((result as { doubled?: number } | undefined)?.doubled !== i * 2) {
    throw new Error(`wrong JS result for ${i}: ${JSON.stringify(result)}`);
  }
};

export const BASH_SOURCE = 'read -r x; echo "{\\"hello\\": $x}"';
export const PYTHON_SOURCE = 'import json,sys\nprint(json.dumps({"hello": json.load(sys.stdin)}))';

/**
 * The policy the bench worker runs under: as the default, except that standard JS goes to the
 * isolate tier (a fresh isolate per call), so fresh isolates can be measured over HTTP.
 */
export const BENCH_POLICY_TABLE = {
  js: { trusted: ['isolate'], standard: ['isolate'], untrusted: ['docker', 'process'] },
  wasm: { trusted: ['wasm'], standard: ['wasm'], untrusted: ['wasm'] },
  script: { trusted: ['process'], standard: ['process'], untrusted: ['docker', 'process'] },
  container: { trusted: ['docker'], standard: ['docker'], untrusted: ['docker'] },
};

/** The limits of the driver-level rows (layers, cpu parts): generous, so no row ends at one. */
export const BENCH_LIMITS = {
  timeoutMs: 10_000,
  memoryMb: 128,
  logBytes: 65_536,
  resultBytes: 1 << 20,
  pids: 64,
  tmpMb: 64,
  errorBytes: 16_384,
};
