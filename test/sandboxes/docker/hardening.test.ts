import { describe, expect, it } from 'vitest';
import {
  blkioWeightOf,
  containerSpec,
  cpuSharesOf,
  LABEL_WORKER,
  workerLabels,
} from '../../../sandboxes/docker/hardening.ts';

const base = {
  name: 'strata-w-warm-1',
  image: 'strata-runner-js:abc',
  labels: workerLabels('w1', 'warm'),
  stdinOnce: false,
  facts: { cpuCount: 2, blockDevice: '/dev/vda', ioWeight: true },
  defaults: { cpu: 1, nofile: 1024, nproc: 4096 },
};

describe('container hardening', () => {
  it('applies every hardening option whatever the limits', () => {
    const spec = containerSpec({
      ...base,
      limits: {
        timeoutMs: 1000,
        memoryMb: 128,
        logBytes: 1024,
        resultBytes: 1024,
        pids: 64,
        tmpMb: 64,
        errorBytes: 1024,
      },
    });
    const h = spec.HostConfig ?? {};
    expect(spec.User).toBe('65534:65534');
    expect(h.CapDrop).toEqual(['ALL']);
    expect(h.CapAdd).toEqual([]);
    expect(h.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(h.SecurityOpt?.some((o: string) => o.startsWith('seccomp'))).toBe(false);
    expect(h.Privileged).toBe(false);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.NetworkMode).toBe('none');
    expect(spec.NetworkDisabled).toBe(true);
    expect(h.Tmpfs?.['/tmp']).toBe(`rw,noexec,nosuid,nodev,size=${64 * 1024 * 1024},mode=1777`);
    expect(h.PidsLimit).toBe(64);
    expect(h.Memory).toBe(128 * 1024 * 1024);
    expect(h.MemorySwap).toBe(h.Memory);
    expect(h.NanoCpus).toBe(1e9);
    expect(h.CpusetCpus).toBe('0-1');
    expect(h.Binds).toEqual([]);
    expect(h.Mounts).toEqual([]);
    expect(h.LogConfig?.Type).toBe('none');
    const ulimits = Object.fromEntries((h.Ulimits ?? []).map((u) => [u.Name, [u.Soft, u.Hard]]));
    expect(ulimits).toEqual({ nofile: [1024, 1024], nproc: [4096, 4096], fsize: [67108864, 67108864], core: [0, 0] });
    expect(spec.Labels?.[LABEL_WORKER]).toBe('w1');
    expect(spec.Labels?.['io.strata']).toBe('1');
  });

  it('runs a warm runner as uid 0 with only the capabilities it needs to drop user code to 65534', () => {
    const spec = containerSpec({
      ...base,
      runner: true,
      limits: {
        timeoutMs: 1000,
        memoryMb: 128,
        logBytes: 1024,
        resultBytes: 1024,
        pids: 32,
        tmpMb: 8,
        errorBytes: 16384,
      },
    });
    const h = spec.HostConfig ?? {};
    expect(spec.User).toBe('0:0');
    expect(h.CapDrop).toEqual(['ALL']);
    expect(h.CapAdd).toEqual(['SETUID', 'SETGID', 'SETPCAP', 'KILL', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER']);
    expect(h.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(h.Privileged).toBe(false);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.NetworkMode).toBe('none');
    // Nothing else of the hardening changes.
    const cold = containerSpec({
      ...base,
      limits: {
        timeoutMs: 1000,
        memoryMb: 128,
        logBytes: 1024,
        resultBytes: 1024,
        pids: 32,
        tmpMb: 8,
        errorBytes: 16384,
      },
    });
    const strip = (s: typeof spec) => ({ ...s, User: '', HostConfig: { ...s.HostConfig, CapAdd: [] } });
    expect(strip(spec)).toEqual(strip(cold));
  });

  it('maps function limits onto cgroup settings', () => {
    const spec = containerSpec({
      ...base,
      limits: {
        timeoutMs: 1000,
        memoryMb: 64,
        memorySoftMb: 32,
        cpu: 0.25,
        cpuWeight: 200,
        cpuset: '1',
        pids: 16,
        ioReadBps: 1_000_000,
        ioWriteBps: 2_000_000,
        ioWeight: 5000,
        tmpMb: 8,
        logBytes: 1024,
        resultBytes: 1024,
        errorBytes: 1024,
      },
    });
    const h = spec.HostConfig ?? {};
    expect(h.NanoCpus).toBe(250_000_000);
    expect(h.CpusetCpus).toBe('1');
    expect(h.CpuShares).toBe(2048);
    expect(h.PidsLimit).toBe(16);
    expect(h.MemoryReservation).toBe(32 * 1024 * 1024);
    expect(h.BlkioDeviceReadBps).toEqual([{ Path: '/dev/vda', Rate: 1_000_000 }]);
    expect(h.BlkioDeviceWriteBps).toEqual([{ Path: '/dev/vda', Rate: 2_000_000 }]);
    expect(h.BlkioWeight).toBe(500);
    expect(h.Tmpfs?.['/tmp']).toContain(`size=${8 * 1024 * 1024}`);
  });

  it('leaves out block I/O settings the host cannot apply', () => {
    const spec = containerSpec({
      ...base,
      facts: { cpuCount: 1, ioWeight: false },
      limits: {
        timeoutMs: 1,
        memoryMb: 64,
        ioReadBps: 1,
        ioWeight: 100,
        logBytes: 1024,
        resultBytes: 1,
        pids: 64,
        tmpMb: 64,
        errorBytes: 1024,
      },
    });
    expect(spec.HostConfig?.BlkioWeight).toBeUndefined();
    expect(spec.HostConfig?.BlkioDeviceReadBps).toBeUndefined();
    expect(spec.HostConfig?.CpusetCpus).toBe('0-0');
  });

  it('converts weights onto docker scales', () => {
    expect(cpuSharesOf(100)).toBe(1024);
    expect(cpuSharesOf(1)).toBe(10);
    expect(cpuSharesOf(10000)).toBe(102400);
    expect(blkioWeightOf(1)).toBe(10);
    expect(blkioWeightOf(10000)).toBe(1000);
  });
});
