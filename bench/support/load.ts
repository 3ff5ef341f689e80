/**
 * Throughput under concurrent load with autocannon's programmatic API (loaded through require:
 * the package ships no types, so the small part used here is typed below).
 */
import { createRequire } from 'node:module';

interface AutocannonOptions {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  pipelining?: number;
  verifyBody?: (body: string) => boolean;
}

interface AutocannonHistogram {
  average: number;
  p50: number;
  p99: number;
  mean: number;
}

interface AutocannonResult {
  requests: AutocannonHistogram & { total: number };
  latency: AutocannonHistogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  duration: number;
}

const autocannon = createRequire(import.meta.url)('autocannon') as (o: AutocannonOptions) => Promise<AutocannonResult>;

export interface LoadResult {
  connections: number;
  durationS: number;
  requests: number;
  /** Completed good requests per second (total over the measured duration). */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests that failed: socket errors, timeouts, non-2xx answers or bodies that failed `verify`. */
  bad: number;
}

export async function loadTest(options: {
  url: string;
  body: unknown;
  connections: number;
  durationS: number;
  /** Whether an answer is right; default: a Strata record that succeeded. */
  verify?: (body: string) => boolean;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(options.body),
    connections: options.connections,
    duration: options.durationS,
    verifyBody: options.verify ?? ((body) => body.includes('"status":"succeeded"')),
  });
  const bad = result.errors + result.timeouts + result.non2xx + result.mismatches;
  return {
    connections: options.connections,
    durationS: result.duration,
    requests: result.requests.total,
    rps: (result.requests.total - bad) / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    bad,
  };
}
