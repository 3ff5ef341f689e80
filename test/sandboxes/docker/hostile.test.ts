/**
 * Hostile code inside the docker tier's containers: each probe tries to break out or exhaust the
 * node and must be stopped by the container's limits. Network probes target loopback only.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DockerDriver } from '../../../sandboxes/docker/driver.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import type { ManifestInput } from '../../../src/core/manifest.ts';
import { describeIf } from '../../support/requirements.ts';
import { SUITE_START_MS } from './daemon-lock.ts';
import {
  artifact,
  dockerRequirement,
  invocation,
  runOptions,
  startSuiteDriver,
  stopSuiteDriver,
  uniqueWorkerId,
} from './helpers.ts';

const MIB = 1024 * 1024;
const HOSTILE_PY = readFileSync(join(import.meta.dirname, 'fixtures', 'hostile.py'), 'utf8');
const PROBE_PY = readFileSync(join(import.meta.dirname, 'fixtures', 'probe.py'), 'utf8');

describeIf(dockerRequirement(), 'hostile code in docker containers', () => {
  const workerId = uniqueWorkerId('hostile');
  let driver: DockerDriver;

  beforeAll(async () => {
    driver = await startSuiteDriver({ poolMin: 0 }, workerId);
  }, SUITE_START_MS);
  afterAll(() => stopSuiteDriver(driver, workerId));

  async function invoke(
    manifest: Partial<ManifestInput> & { name: string },
    input: unknown,
    limits: Partial<ResolvedLimits> = {},
  ) {
    const p = await driver.prepare(
      artifact({ runtime: 'script', interpreter: 'python3', trust: 'untrusted', ...manifest } as ManifestInput),
    );
    const r = runOptions({ timeoutMs: 15_000, memoryMb: 96, ...limits });
    try {
      const outcome = await driver.run(p, invocation(input), r.options);
      return { outcome, logs: r.logs.text(), budget: r.logs.budget };
    } finally {
      r.dispose();
    }
  }
  const hostile = (input: Record<string, unknown>, limits: Partial<ResolvedLimits> = {}) =>
    invoke({ name: `hostile-${String(input.probe)}`, source: HOSTILE_PY }, input, limits);

  it('sees the limits from inside: user, capabilities, seccomp, ulimits, cgroups, mounts, network', async () => {
    // The read throttle is asserted from the cgroup file, and kept high enough that python's
    // start-up reads from a cold page cache finish well inside the deadline.
    const limits = { memoryMb: 96, cpu: 0.5, cpuset: '0', pids: 48, tmpMb: 16, ioReadBps: 64 * MIB };
    const { outcome } = await invoke({ name: 'probe', source: PROBE_PY }, {}, limits);
    expect(outcome.status).toBe('succeeded');
    // biome-ignore lint/suspicious/noExplicitAny: the probe's JSON is loosely typed
    const p = outcome.result as Record<string, any>;
    expect([p.uid, p.gid, p.euid]).toEqual([65534, 65534, 65534]);
    expect([p.capEff, p.capPrm, p.capBnd]).toEqual(['0000000000000000', '0000000000000000', '0000000000000000']);
    expect(p.noNewPrivs).toBe('1');
    expect(p.seccomp).toBe('2');
    expect(p.rlimits).toEqual({ nofile: [1024, 1024], nproc: [4096, 4096], fsize: [16 * MIB, 16 * MIB], core: [0, 0] });
    expect(Number(p.cgroup.memory)).toBe(96 * MIB);
    expect(Number(p.cgroup.memsw)).toBe(96 * MIB);
    expect(p.cgroup.pids).toBe('48');
    expect(Number(p.cgroup.cfsQuota) / Number(p.cgroup.cfsPeriod)).toBeCloseTo(0.5, 2);
    expect(p.cgroup.cpuset).toBe('0');
    expect(p.cgroup.readBps).toContain(String(64 * MIB));
    expect(p.mounts['/'].options).toContain('ro');
    // The container's own scratch disk (ext4 on a loop device) where the host makes them, else a tmpfs.
    const scratch = (driver.health().details as { scratch: { kind: string } }).scratch.kind === 'disk';
    expect(p.mounts['/tmp'].type).toBe(scratch ? 'ext4' : 'tmpfs');
    expect(p.mounts['/tmp'].options).toEqual(
      expect.arrayContaining(['noexec', 'nosuid', 'nodev', ...(scratch ? [] : ['size=16384k'])]),
    );
    expect(p.netIfaces).toEqual(['lo']);
    expect(p.dockerSock).toBe(false);
    expect(p.mountPoints.filter((m: string) => /docker\.sock|^\/work|^\/root|^\/home/.test(m))).toEqual([]);
  });

  it('contains a fork bomb with the pids limit (and the node stays usable)', async () => {
    const bomb = await invoke(
      { name: 'forkbomb', interpreter: 'bash', source: ':(){ :|:& };:; wait' },
      {},
      { pids: 32, timeoutMs: 4000 },
    );
    // bash may give up on its own once fork fails, or run into the deadline: either way it is contained.
    expect(['succeeded', 'timeout', 'failed', 'killed']).toContain(bomb.outcome.status);
    expect(driver.health().available).toBe(true);
    const counted = await hostile({ probe: 'forks' }, { pids: 32 });
    expect(counted.outcome.status).toBe('succeeded');
    const r = counted.outcome.result as { forks: number; error: string };
    expect(r.error).toBe('EAGAIN');
    expect(r.forks).toBeLessThan(32);
  });

  it('kills processes a script leaves behind before the container takes the next invocation', async () => {
    const src = HOSTILE_PY;
    const left = await invoke({ name: 'straggler', source: src }, { probe: 'straggler' });
    expect(left.outcome.status).toBe('succeeded');
    const ps = await invoke({ name: 'straggler', source: src }, { probe: 'ps' });
    // Same function, same warm container: only init (tini), the runner and the probe itself remain.
    const { self, procs } = ps.outcome.result as { self: number; procs: Record<string, string> };
    const others = Object.entries(procs).filter(([pid, cmd]) => Number(pid) !== self && !/tini|node/.test(cmd));
    expect(others).toEqual([]);
    expect(procs['1']).toMatch(/tini/);
  });

  it('ends a JS memory bomb as memory_exceeded (the OOM killer, or the thrash watch on a busy machine)', async () => {
    const p = await driver.prepare(
      artifact({
        name: 'js-membomb',
        runtime: 'js',
        trust: 'untrusted',
        source: 'export default () => { const a = []; for (;;) a.push(new Array(1e6).fill(1.5)); }',
      }),
    );
    const r = runOptions({ timeoutMs: 20_000, memoryMb: 96 });
    const o = await driver.run(p, invocation({}), r.options);
    r.dispose();
    // The whole outcome in the message: a wrong verdict says how the container ended.
    expect(o.status, JSON.stringify({ error: o.error, exit: o.exit, usage: o.usage })).toBe('memory_exceeded');
    expect(o.error?.code).toBe('memory_exceeded');
    // Quiet machine: the kernel's OOM killer. Busy machine: it may reclaim at the limit for
    // seconds instead, and the worker's thrash watch kills the container.
    if (!o.exit?.oomKilled) expect(o.error?.message).toMatch(/thrashed/);
    expect(o.death).toMatchObject({ cause: 'memory', limit: 96 });
    expect(o.death?.usage).toEqual(o.usage);
  });

  it('ends a script memory bomb as memory_exceeded from the cgroup OOM counter, then recovers', async () => {
    const bomb = await hostile({ probe: 'memory' }, { memoryMb: 96 });
    expect(bomb.outcome.status).toBe('memory_exceeded');
    const after = await hostile({ probe: 'fds' }, { memoryMb: 96 });
    expect(after.outcome.status).toBe('succeeded');
  });

  it('applies the CPU quota to a spinner (loosely) and times out an endless loop', async () => {
    const spin = await hostile({ probe: 'spin', seconds: 1.5 }, { cpu: 0.5 });
    expect(spin.outcome.status).toBe('succeeded');
    const { cpuMs, wallMs } = spin.outcome.usage;
    expect(cpuMs).toBeDefined();
    expect(cpuMs as number).toBeGreaterThan(300);
    expect((cpuMs as number) / wallMs).toBeLessThan(0.8);
    const p = await driver.prepare(
      artifact({ name: 'js-spin', runtime: 'js', trust: 'untrusted', source: 'export default () => { for (;;) {} }' }),
    );
    const r = runOptions({ timeoutMs: 1500, cpu: 0.25 });
    const o = await driver.run(p, invocation({}), r.options);
    r.dispose();
    expect(o.status).toBe('timeout');
  });

  it('stops a disk fill at the /tmp size and refuses writes to the read-only root', async () => {
    const { outcome } = await hostile({ probe: 'disk' }, { tmpMb: 8 });
    expect(outcome.status).toBe('succeeded');
    const r = outcome.result as { written: number; error: string; root: string; usr: string };
    expect(r.written).toBeLessThanOrEqual(8 * MIB);
    expect(['ENOSPC', 'EFBIG']).toContain(r.error);
    expect(r.root).toBe('EROFS');
    expect(r.usr).toMatch(/EROFS|EACCES/);
  });

  it('stops fd exhaustion at RLIMIT_NOFILE', async () => {
    const { outcome } = await hostile({ probe: 'fds' });
    const r = outcome.result as { opened: number; error: string };
    expect(r.error).toBe('EMFILE');
    expect(r.opened).toBeLessThanOrEqual(1024);
  });

  it('keeps an output flood within the log budget and a stdout flood within the result cap', async () => {
    const p = await driver.prepare(
      artifact({
        name: 'js-flood',
        runtime: 'js',
        trust: 'untrusted',
        source:
          'export default () => { const line = "x".repeat(1000); for (let i = 0; i < 30000; i++) console.log(line); return "done"; }',
      }),
    );
    const r = runOptions({ timeoutMs: 30_000, logBytes: 64 * 1024 });
    const o = await driver.run(p, invocation({}), r.options);
    r.dispose();
    expect(o.status).toBe('succeeded');
    expect(o.result).toBe('done');
    expect(r.logs.text().length).toBeLessThan(64 * 1024 + 200);
    expect(r.logs.text()).toMatch(/bytes of (log )?output dropped/);
    const flood = await invoke(
      { name: 'stdout-flood', interpreter: 'bash', source: 'yes flood' },
      {},
      { resultBytes: MIB, timeoutMs: 15_000 },
    );
    expect(flood.outcome.status).toBe('failed');
    expect(flood.outcome.error?.code).toBe('result_too_large');
  });

  it('refuses privilege escalation: mount, unshare, setuid, chroot, raw sockets, mknod, /proc and cgroup writes', async () => {
    const { outcome } = await hostile({ probe: 'escalate' });
    expect(outcome.status).toBe('succeeded');
    const r = outcome.result as Record<string, string>;
    expect(r.mount).toBe('EPERM');
    expect(r.unshareUser).toBe('EPERM');
    expect(r.unshareNs).toBe('EPERM');
    expect(r.setuid0).toBe('EPERM');
    expect(r.setgid0).toBe('EPERM');
    expect(r.chroot).toBe('EPERM');
    expect(r.rawSocket).toBe('EPERM');
    expect(r.mknod).toBe('EPERM');
    expect(r.sysrq).toMatch(/EACCES|EROFS|EPERM|ENOENT/);
    expect(r.cgroupWrite).toMatch(/EACCES|EROFS|EPERM|ENOENT/);
    expect(r.kcore).toMatch(/EACCES|EPERM|ENOENT/);
    // PID 1 is the container's own init (tini), running as root: user code cannot even signal it.
    expect(r.kill1).toBe('EPERM');
  });

  it('has no network: a loopback service on the host is unreachable and no connection arrives', async () => {
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const { outcome } = await hostile({ probe: 'network', port });
      expect(outcome.status).toBe('succeeded');
      const r = outcome.result as { loopbackHostPort: string; ifaces: string[] };
      expect(r.loopbackHostPort).not.toBe('connected');
      expect(r.ifaces).toEqual(['lo']);
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("cannot see the host's files or the Docker socket", async () => {
    const { outcome } = await hostile({ probe: 'hostfiles' });
    expect(outcome.status).toBe('succeeded');
    const r = outcome.result as Record<string, boolean | string>;
    for (const path of [
      '/etc/shadow',
      '/root',
      '/work',
      '/var/lib/docker',
      '/var/run/docker.sock',
      '/run/docker.sock',
      '/home',
      '/proc/1/root/etc/shadow',
    ]) {
      expect([path, r[path]]).toEqual([path, false]);
    }
    expect(r.pid1).toBe('/usr/local/bin/tini');
  });
});
