/**
 * Start-up never holds the event loop: a worker that blocked for seconds while it planned its
 * runner images was declared lost by its Master right after it registered. Every tier starts
 * (the Docker tier plans its images, the wasm tier sweeps its cache and starts building engines,
 * the isolate tier forks its hosts) on a fresh data dir, with the loop watched by its own CPU
 * time (test/support/event-loop.ts), and no stretch may exceed 100 ms. Then the same for the
 * shutdown.
 */
import { describe, expect, it } from 'vitest';
import { startTestWorker } from '../gateway/support.ts';
import { watchEventLoop } from '../support/event-loop.ts';
import { removeCgroupParents } from './server-process.ts';

describe('worker start-up and shutdown', { timeout: 240_000 }, () => {
  it('never block the event loop for more than 100 ms', async () => {
    const starting = watchEventLoop();
    const t = await startTestWorker({ 'docker.autoBuildImages': false }, { listen: true });
    const started = starting.stop();
    // A request right after start is answered (the loop is free).
    const health = await fetch(`${t.worker.url}/healthz`);
    expect(health.status).toBe(200);
    const stopping = watchEventLoop();
    await t.close();
    const stopped = stopping.stop();
    removeCgroupParents();
    expect(started.ticks).toBeGreaterThan(10);
    expect(started.maxBlockedMs, `start-up held the loop ${started.maxBlockedMs.toFixed(1)} ms`).toBeLessThanOrEqual(
      100,
    );
    expect(stopped.maxBlockedMs, `shutdown held the loop ${stopped.maxBlockedMs.toFixed(1)} ms`).toBeLessThanOrEqual(
      100,
    );
  });
});
