/**
 * The docker tier's scratch /tmp and I/O limits without Docker: what the cgroup file system
 * offers (v1 and a fake v2 tree), the judgement io-support makes of it, counters per device,
 * the spec built on a scratch disk, and the mount check.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCounters, sumBlkio, sumIoStat } from '../../../sandboxes/docker/cgroup-usage.ts';
import { containerSpec, workerLabels } from '../../../sandboxes/docker/hardening.ts';
import { blockStat, cgroupIoFacts, scratchIoDevices, tmpIsScratch } from '../../../sandboxes/docker/scratch.ts';
import { ioLimitSupport } from '../../../src/resources/io-support.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'strata-fake-docker-io-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const ok = { ok: true };

describe('which I/O limits the docker tier can enforce', () => {
  it('cgroup v2 with io and io.cost: bandwidth and weight bind on a scratch disk', () => {
    const root = tree({ 'cgroup.controllers': 'cpuset cpu io memory pids\n', 'io.cost.qos': '' });
    const facts = cgroupIoFacts(root);
    expect(facts).toEqual({
      mode: 'v2',
      controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
      weightFile: true,
      ioCost: true,
    });
    const io = ioLimitSupport({ ...facts, scratch: ok, backingDisk: '259:0', backingScheduler: 'none' });
    expect(io).toEqual({ bandwidth: ok, weight: ok });
  });

  it('cgroup v2 without the io controller: neither, with the reason', () => {
    const facts = cgroupIoFacts(tree({ 'cgroup.controllers': 'cpu memory pids\n' }));
    const io = ioLimitSupport({ ...facts, scratch: ok });
    expect(io.bandwidth.reason).toMatch(/the cgroup io controller is not available/);
    expect(io.weight.ok).toBe(false);
  });

  it('cgroup v2 with io but no io.cost and mq-deadline: bandwidth only', () => {
    const facts = cgroupIoFacts(tree({ 'cgroup.controllers': 'io memory\n' }));
    const io = ioLimitSupport({ ...facts, scratch: ok, backingDisk: '254:0', backingScheduler: 'mq-deadline' });
    expect(io.bandwidth.ok).toBe(true);
    expect(io.weight.reason).toMatch(/254:0 uses mq-deadline, which ignores weights \(needs BFQ or io\.cost\)/);
  });

  it('cgroup v1 blkio: bandwidth with a scratch disk, never on a tmpfs', () => {
    const facts = cgroupIoFacts(tree({ 'blkio/blkio.throttle.read_bps_device': '' }));
    expect(facts).toEqual({ mode: 'v1', controllers: ['io'], weightFile: false });
    expect(ioLimitSupport({ ...facts, scratch: ok }).bandwidth.ok).toBe(true);
    const tmpfs = ioLimitSupport({ ...facts, scratch: { ok: false, reason: 'docker.scratch is tmpfs' } });
    expect(tmpfs.bandwidth.reason).toMatch(/only writable place is a tmpfs/);
  });
});

describe('I/O counted per device', () => {
  const v1 = '7:3 Read 100\n7:3 Write 200\n253:0 Read 1000\n253:0 Write 2000\nTotal 3300\n';
  const v2 = '7:3 rbytes=100 wbytes=200 rios=1 wios=2\n253:0 rbytes=1000 wbytes=2000 rios=3 wios=4\n';
  it('v1 blkio.throttle.io_service_bytes and v2 io.stat, all devices or only the listed ones', () => {
    expect([sumBlkio(v1, 'Read'), sumBlkio(v1, 'Write')]).toEqual([1100, 2200]);
    expect([sumBlkio(v1, 'Read', ['7:3']), sumBlkio(v1, 'Write', ['7:3'])]).toEqual([100, 200]);
    expect([sumIoStat(v2, 'rbytes'), sumIoStat(v2, 'wbytes')]).toEqual([1100, 2200]);
    expect([sumIoStat(v2, 'rbytes', ['7:3']), sumIoStat(v2, 'wbytes', ['7:3'])]).toEqual([100, 200]);
  });

  it('a v2 container cgroup counts only its scratch device (fake tree)', () => {
    const root = tree({ 'c/io.stat': v2, 'c/cpu.stat': 'usage_usec 5\n' });
    const counters = readCounters({ version: 2, dirs: { '': join(root, 'c') }, devices: ['7:3'] });
    expect(counters).toMatchObject({ ioReadBytes: 100, ioWriteBytes: 200, cpuNs: 5000 });
  });

  it("reads a loop device's own byte counts (a cold container's, after its cgroup is gone)", () => {
    const root = tree({ 'block/loop3/stat': '  10 0 24 5   7 0 8192 3 0 9 9 0 0 0 0 0 0\n' });
    expect(blockStat('/dev/loop3', root)).toEqual({ readBytes: 24 * 512, writeBytes: 8192 * 512 });
    expect(blockStat('/dev/loop9', root)).toBeUndefined();
  });

  it('throttles and counts the loop device, and the data-root disk only when it is not behind the image', () => {
    const scratch = { loopDevice: '/dev/loop3', device: '7:3', backingDisk: '253:0' };
    expect(scratchIoDevices(scratch, undefined)).toEqual({ paths: ['/dev/loop3'], numbers: ['7:3'] });
    // /dev/null is a character device: never taken for a block device.
    expect(scratchIoDevices(scratch, '/dev/null')).toEqual({ paths: ['/dev/loop3'], numbers: ['7:3'] });
  });
});

describe('the container spec on a scratch disk', () => {
  const limits = {
    timeoutMs: 1000,
    memoryMb: 64,
    logBytes: 1024,
    resultBytes: 1024,
    pids: 32,
    tmpMb: 16,
    errorBytes: 1024,
    ioReadBps: 1_000_000,
    ioWriteBps: 2_000_000,
  };
  it('binds the disk at /tmp instead of the tmpfs and sets the throttles on its loop device', () => {
    const spec = containerSpec({
      name: 'strata-w-warm-1',
      image: 'img',
      limits,
      labels: workerLabels('w', 'warm'),
      stdinOnce: false,
      facts: { cpuCount: 2, blockDevice: '/dev/vda', ioWeight: false },
      defaults: { cpu: 1, nofile: 64, nproc: 64 },
      scratch: { source: '/var/tmp/strata-scratch-1-x' },
      ioDevices: ['/dev/loop3'],
      env: { HTTP_PROXY: 'http://127.0.0.1:3128' },
    });
    const h = spec.HostConfig ?? {};
    expect(h.Tmpfs).toBeUndefined();
    expect(h.Mounts).toEqual([
      {
        Type: 'bind',
        Source: '/var/tmp/strata-scratch-1-x',
        Target: '/tmp',
        ReadOnly: false,
        BindOptions: { Propagation: 'rprivate' },
      },
    ]);
    expect(h.BlkioDeviceReadBps).toEqual([{ Path: '/dev/loop3', Rate: 1_000_000 }]);
    expect(h.BlkioDeviceWriteBps).toEqual([{ Path: '/dev/loop3', Rate: 2_000_000 }]);
    expect(h.NetworkMode).toBe('none');
    expect(spec.Env).toEqual(['HTTP_PROXY=http://127.0.0.1:3128']);
    const fsize = h.Ulimits?.find((u) => u.Name === 'fsize');
    expect(fsize).toMatchObject({ Soft: 16 * 1024 * 1024 });
  });
});

describe("the mount check: is the container's /tmp its scratch disk?", () => {
  const line = (id: number, dev: string, at: string) => `${id} 1 ${dev} / ${at} rw,nosuid - ext4 /dev/x rw`;
  it('reads the top mount at /tmp from the host view of its mount table', () => {
    const root = tree({
      'proc/9/mountinfo': [line(1, '0:50', '/'), line(2, '0:51', '/tmp'), line(3, '7:3', '/tmp')].join('\n'),
      'proc/10/mountinfo': [line(1, '0:50', '/'), line(2, '253:0', '/tmp')].join('\n'),
    });
    expect(tmpIsScratch(9, '7:3', join(root, 'proc'))).toBe(true);
    // A daemon in another mount namespace bound the directory under the mount point: refused.
    expect(tmpIsScratch(10, '7:3', join(root, 'proc'))).toBe(false);
    // Gone already: nothing to judge.
    expect(tmpIsScratch(11, '7:3', join(root, 'proc'))).toBeUndefined();
  });
});
