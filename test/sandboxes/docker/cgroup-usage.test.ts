import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { containerCgroup, readCounters, resetPeak } from '../../../sandboxes/docker/cgroup-usage.ts';
import { UsageMeter } from '../../../sandboxes/docker/usage-meter.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'strata-fake-cg-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('container cgroup usage, cgroup v1', () => {
  const id = 'docker/abc';
  const files = {
    'proc/42/cgroup': `12:memory:/${id}\n3:cpu,cpuacct:/${id}\n7:blkio:/${id}\n5:pids:/${id}\n0::/${id}\n`,
    [`cg/pids/${id}/pids.events`]: 'max 4\n',
    [`cg/memory/${id}/memory.max_usage_in_bytes`]: '1048576\n',
    [`cg/memory/${id}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    [`cg/cpu,cpuacct/${id}/cpuacct.usage`]: '2500000000\n',
    [`cg/blkio/${id}/blkio.throttle.io_service_bytes`]:
      '254:0 Read 4096\n254:0 Write 8192\n254:0 Total 12288\n8:0 Read 1\nTotal 12289\n',
  };
  it('finds the controllers (co-mounted ones too) through /proc/<pid>/cgroup and reads the counters', () => {
    const root = tree(files);
    const cg = containerCgroup(42, join(root, 'cg'), join(root, 'proc'));
    expect(cg?.version).toBe(1);
    expect(readCounters(cg as NonNullable<typeof cg>)).toEqual({
      cpuNs: 2_500_000_000,
      memoryPeakBytes: 1_048_576,
      ioReadBytes: 4097,
      ioWriteBytes: 8192,
      oomKills: 2,
      pidsMaxHits: 4,
    });
  });
  it('resets the peak by writing the v1 file', () => {
    const root = tree(files);
    const cg = containerCgroup(42, join(root, 'cg'), join(root, 'proc'));
    expect(resetPeak(cg as NonNullable<typeof cg>)).toBe(true);
    expect(readFileSync(join(root, 'cg/memory', id, 'memory.max_usage_in_bytes'), 'utf8')).toBe('0');
  });
});

describe('container cgroup usage, cgroup v2', () => {
  const files = {
    'proc/7/cgroup': '0::/system.slice/docker-abc.scope\n',
    'cg/cgroup.controllers': 'cpu io memory pids\n',
    'cg/system.slice/docker-abc.scope/cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n',
    'cg/system.slice/docker-abc.scope/memory.peak': '2097152\n',
    'cg/system.slice/docker-abc.scope/memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    'cg/system.slice/docker-abc.scope/io.stat': '254:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:0 rbytes=1 wbytes=2\n',
    'cg/system.slice/docker-abc.scope/pids.events': 'max 0\n',
  };
  it('reads the unified files', () => {
    const root = tree(files);
    const cg = containerCgroup(7, join(root, 'cg'), join(root, 'proc'));
    expect(cg?.version).toBe(2);
    expect(readCounters(cg as NonNullable<typeof cg>)).toEqual({
      cpuNs: 1_500_000,
      memoryPeakBytes: 2_097_152,
      ioReadBytes: 101,
      ioWriteBytes: 202,
      oomKills: 1,
      pidsMaxHits: 0,
    });
  });
  it('reports only what it could read, as deltas', () => {
    const root = tree(files);
    const cg = containerCgroup(7, join(root, 'cg'), join(root, 'proc'));
    const meter = new UsageMeter(cg);
    meter.begin(true);
    writeFileSync(join(root, 'cg/system.slice/docker-abc.scope/cpu.stat'), 'usage_usec 11500\n');
    rmSync(join(root, 'cg/system.slice/docker-abc.scope/io.stat'));
    writeFileSync(join(root, 'cg/system.slice/docker-abc.scope/pids.events'), 'max 2\n');
    expect(meter.pidsHitsSinceBegin()).toBe(2);
    const usage = meter.end(20);
    expect(usage.cpuMs).toBe(10);
    expect(usage.memoryPeakBytes).toBe(2_097_152);
    // The io file vanished: the last good reading stands, so the delta is 0 bytes, still measured.
    expect(usage.measured).toEqual(expect.arrayContaining(['wallMs', 'cpuMs', 'memoryPeakBytes']));
    expect(meter.oomKillsSinceBegin()).toBe(0);
  });
  it('says when the cgroup vanished (the container died after answering): its counters are stale', () => {
    const root = tree(files);
    const cg = containerCgroup(7, join(root, 'cg'), join(root, 'proc'));
    const meter = new UsageMeter(cg);
    meter.begin(true);
    meter.read();
    expect(meter.vanished).toBe(false);
    rmSync(join(root, 'cg/system.slice/docker-abc.scope'), { recursive: true });
    // The OOM counter reads the begin() figure again: no kill seen, which is not to be believed.
    expect(meter.oomKillsSinceBegin()).toBe(0);
    expect(meter.vanished).toBe(true);
  });
  it('measures nothing but wall time without a cgroup', () => {
    const usage = new UsageMeter(undefined).end(5);
    expect(usage).toEqual({ wallMs: 5, measured: ['wallMs'] });
  });
});
