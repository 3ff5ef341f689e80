import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { backoffDelay, firstMasterIndex } from '../../src/link/backoff.ts';
import { loadOf, ModeGovernor, nextMode } from '../../src/link/dispatch-mode.ts';
import { LogBuffer } from '../../src/link/log-buffer.ts';
import { chunkSize, chunks, modeFromWire, modeToWire, parseLabels } from '../../src/protocol/wire.ts';

describe('backoff', () => {
  const opts = { initialMs: 100, maxMs: 5000, jitter: 0.2 };
  it('doubles from the initial delay up to the cap', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 10].map((n) => backoffDelay(n, opts, mid))).toEqual([100, 200, 400, 800, 5000]);
  });
  it('spreads by +-jitter', () => {
    expect(backoffDelay(2, opts, () => 0)).toBe(320);
    expect(backoffDelay(2, opts, () => 1)).toBe(480);
  });
  it('spreads workers over Masters by id, deterministically', () => {
    const picks = new Set(Array.from({ length: 50 }, (_, i) => firstMasterIndex(`worker-${i}`, 3)));
    expect(picks).toEqual(new Set([0, 1, 2]));
    expect(firstMasterIndex('w', 3)).toBe(firstMasterIndex('w', 3));
    expect(firstMasterIndex('w', 1)).toBe(0);
  });
});

describe('hybrid dispatch policy', () => {
  it('switches push -> pull at the high mark and back at the low mark, not in between', () => {
    expect(nextMode('hybrid', 'push', 0.79, 0.8, 0.5)).toBe('push');
    expect(nextMode('hybrid', 'push', 0.8, 0.8, 0.5)).toBe('pull');
    expect(nextMode('hybrid', 'pull', 0.6, 0.8, 0.5)).toBe('pull');
    expect(nextMode('hybrid', 'pull', 0.5, 0.8, 0.5)).toBe('push');
  });
  it('fixed policies never switch', () => {
    expect(nextMode('push', 'push', 1, 0.8, 0.5)).toBe('push');
    expect(nextMode('pull', 'pull', 0, 0.8, 0.5)).toBe('pull');
  });
  it("load is the worker's own slots only", () => {
    expect(loadOf(2, 4)).toBe(0.5);
    expect(loadOf(1, 4)).toBe(0.25);
    expect(loadOf(9, 4)).toBe(1);
    expect(loadOf(0, 0)).toBe(0);
  });
});

describe('wire helpers', () => {
  it('maps modes both ways', () => {
    for (const m of ['push', 'pull', 'hybrid'] as const) expect(modeFromWire(modeToWire(m))).toBe(m);
    expect(modeFromWire('DISPATCH_MODE_UNSPECIFIED')).toBeUndefined();
  });
  it('chunks stay below the message size', () => {
    const data = new Uint8Array(100_000);
    const size = chunkSize(40 * 1024);
    const parts = chunks(data, size);
    expect(parts.every((p) => p.byteLength <= size)).toBe(true);
    expect(parts.reduce((n, p) => n + p.byteLength, 0)).toBe(100_000);
    expect(chunks(new Uint8Array(0), size)).toHaveLength(1);
  });
});

describe('live log buffer', () => {
  it('keeps at most its budget and counts what it drops', () => {
    const buf = new LogBuffer(10);
    const ref = { taskId: 't', attempt: 1, epoch: '1' };
    buf.push(ref, 'hello');
    buf.push(ref, 'world');
    buf.push(ref, '!!!');
    expect(buf.droppedBytes).toBe(3);
    const out = buf.drain();
    expect(out.map((l) => l.data.toString())).toEqual(['hello', 'world']);
    expect(out.map((l) => l.seq)).toEqual([0, 1]);
    buf.push(ref, 'again');
    expect(buf.drain()[0]).toMatchObject({ seq: 2, droppedBytes: 3 });
  });
});

describe('link and master settings', () => {
  it('STRATA_MASTERS accepts "host:port[,host:port]"', () => {
    const config = loadConfig({ env: { STRATA_MASTERS: '127.0.0.1:7070, 127.0.0.1:7071' } });
    expect(config.link.masters).toEqual(['127.0.0.1:7070', '127.0.0.1:7071']);
    expect(() => loadConfig({ env: { STRATA_MASTERS: 'nonsense' } })).toThrow(/host:port/);
  });
  it('defaults: 1 s heartbeats, 3 s Master timeout, hybrid mode, documented addresses', () => {
    const config = loadConfig({ env: {} });
    expect(config.link.heartbeatInterval).toBe(1000);
    expect(config.link.dispatchMode).toBe('hybrid');
    expect(config.master.heartbeatTimeout).toBe(3000);
    expect(config.master.grpc).toBe('127.0.0.1:7070');
    expect(config.master.http).toBe('127.0.0.1:7080');
  });
  it('STRATA_MASTER_GRPC / STRATA_MASTER_HTTP and labels from env', () => {
    const config = loadConfig({
      env: {
        STRATA_MASTER_GRPC: '127.0.0.1:9000',
        STRATA_MASTER_HTTP: '127.0.0.1:9001',
        STRATA_LINK_LABELS: 'zone=a,gpu=no',
      },
    });
    expect(config.master.grpc).toBe('127.0.0.1:9000');
    expect(config.master.http).toBe('127.0.0.1:9001');
    expect(parseLabels(config.link.labels)).toEqual({ zone: 'a', gpu: 'no' });
  });
});

describe('link metrics', () => {
  it('exposes the dispatch mode and outbox figures in Prometheus text', async () => {
    const { Registry: PromRegistry } = await import('prom-client');
    const { registerLinkMetrics } = await import('../../src/link/metrics.ts');
    const registry = new PromRegistry();
    const fake = {
      stats: () => ({ state: 'connected' }),
      mode: 'pull',
      policy: 'hybrid',
      outbox: { count: () => 3 },
      runner: { unfinished: 2 },
      logs: { droppedBytes: 10 },
      counters: { reconnects: 1, heartbeatsSent: 5, resultsSent: 4, resultsAcked: 1, modeSwitches: 7 },
    };
    registerLinkMetrics(registry, fake as unknown as Parameters<typeof registerLinkMetrics>[1]);
    const text = await registry.metrics();
    expect(text).toContain('strata_link_dispatch_mode{mode="pull",policy="hybrid"} 1');
    expect(text).toContain('strata_link_dispatch_mode{mode="push",policy="hybrid"} 0');
    expect(text).toContain('strata_link_outbox_pending 3');
    expect(text).toContain('strata_link_log_dropped_bytes_total 10');
    expect(text).toContain('strata_link_mode_switches_total 7');
  });
});

describe('hybrid hysteresis', () => {
  /** Drive a governor through samples (load, at ms) and count the switches it makes. */
  function drive(samples: [number, number][], options = { smoothingMs: 1000, dwellMs: 2000 }) {
    const g = new ModeGovernor(options);
    let mode: 'push' | 'pull' = 'push';
    let switches = 0;
    for (const [load, at] of samples) {
      g.sample(load, at);
      const next = g.decide('hybrid', mode, 0.8, 0.5, at);
      if (next !== mode) {
        g.switched(at);
        mode = next;
        switches++;
      }
    }
    return { mode, switches };
  }

  it('a burst of 1 ms tasks (load 1 <-> 0 every few ms) switches once to pull and once back, not per task', () => {
    const samples: [number, number][] = [];
    // Ten seconds of a burst: full, empty, full ... every 3 ms, then five quiet seconds of heartbeats.
    for (let t = 0; t < 10_000; t += 3) samples.push([(t / 3) % 2 === 0 ? 1 : 0.9, t]);
    for (let t = 10_000; t <= 15_000; t += 1000) samples.push([0, t]);
    expect(drive(samples)).toEqual({ mode: 'push', switches: 2 });
    // Without smoothing and dwell the same burst flaps on every sample that crosses a mark.
    const raw: [number, number][] = [];
    for (let t = 0; t < 1000; t += 3) raw.push([(t / 3) % 2 === 0 ? 1 : 0, t]);
    expect(drive(raw, { smoothingMs: 0, dwellMs: 0 }).switches).toBeGreaterThan(300);
  });

  it('a sustained load still switches, and the dwell bounds switches whatever the load does', () => {
    expect(
      drive([
        [1, 0],
        [1, 500],
        [1, 1500],
        [1, 2500],
      ]).mode,
    ).toBe('pull');
    const noisy: [number, number][] = [];
    for (let t = 0; t < 20_000; t += 100) noisy.push([Math.floor(t / 2500) % 2, t]);
    expect(drive(noisy).switches).toBeLessThanOrEqual(20_000 / 2000);
  });
});
