/** Hostile scripts: each ends with the right status, its cgroup gone and no process left. */
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeIf } from '../../support/requirements.ts';
import {
  groupGone,
  itIf,
  processTierRequirement,
  pythonRequirement,
  type RunResult,
  runScript,
  sandboxProcessesLeft,
  startTier,
  stopTier,
  type Tier,
} from './support.ts';

const MiB = 1024 * 1024;

describeIf(processTierRequirement(), 'process tier: hostile scripts', () => {
  let tier: Tier;
  let last: RunResult | undefined;
  beforeAll(async () => {
    tier = await startTier('hostile');
  });
  afterAll(async () => stopTier(tier));
  afterEach(() => {
    if (last) expect(groupGone(last.groupDirs)).toBe(true);
    last = undefined;
    expect(sandboxProcessesLeft(tier)).toEqual([]);
  });
  const run = async (...args: Parameters<typeof runScript> extends [unknown, ...infer R] ? R : never) => {
    last = await runScript(tier, ...args);
    return last;
  };

  it('fork bomb: stopped at the pids limit (killed, limit_exceeded)', async () => {
    const r = await run({ interpreter: 'bash', source: 'b(){ b | b & }; b; sleep 20' }, null, {
      pids: 32,
      timeoutMs: 10_000,
    });
    expect(r.outcome).toMatchObject({ status: 'killed', error: { code: 'limit_exceeded' } });
    expect(r.outcome.death).toMatchObject({ cause: 'pids', limit: 32, usage: { cpuMs: expect.any(Number) } });
  });

  itIf(pythonRequirement(), 'memory bomb: OOM-killed from the group counters (memory_exceeded)', async () => {
    const source = 'a = []\nwhile True:\n    a.append(bytearray(1 << 20))';
    const r = await run({ interpreter: 'python3', source }, null, { memoryMb: 48 });
    expect(r.outcome.status).toBe('memory_exceeded');
    expect(r.outcome.exit?.oomKilled).toBe(true);
    expect(r.outcome.usage.memoryPeakBytes).toBeLessThanOrEqual(48 * MiB);
    expect(r.outcome.usage.memoryPeakBytes).toBeGreaterThan(40 * MiB);
    expect(r.outcome.death).toMatchObject({ cause: 'memory', limit: 48 });
    expect(r.outcome.death?.usage?.memoryPeakBytes).toBeGreaterThan(40 * MiB);
  });

  it('CPU spinner: CPU time is about quota x wall time, then timeout', async () => {
    const r = await run({ interpreter: 'bash', source: 'while :; do :; done' }, null, { cpu: 0.5, timeoutMs: 2000 });
    expect(r.outcome.status).toBe('timeout');
    const { cpuMs, wallMs } = r.outcome.usage as { cpuMs: number; wallMs: number };
    // Loose: CFS throttling is per 100 ms period; the ratio must sit near 0.5, far from 1.
    expect(cpuMs / wallMs).toBeGreaterThan(0.3);
    expect(cpuMs / wallMs).toBeLessThan(0.7);
    // The snapshot is taken when the deadline fired, before the kill.
    expect(r.outcome.death).toMatchObject({ cause: 'time', limit: 2000 });
    expect(r.outcome.death?.usage?.cpuMs).toBeGreaterThan(0);
  });

  it('filling /tmp stops at the tmpfs size', async () => {
    const source =
      'dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>/dev/null; echo "{\\"rc\\": $?, \\"size\\": $(stat -c %s /tmp/fill)}"';
    const r = await run({ interpreter: 'bash', source }, null, { tmpMb: 8 });
    expect(r.outcome.status).toBe('succeeded');
    const result = r.outcome.result as { rc: number; size: number };
    expect(result.rc).not.toBe(0);
    expect(result.size).toBeLessThanOrEqual(8 * MiB);
  });

  itIf(pythonRequirement(), 'fd exhaustion stops at RLIMIT_NOFILE', async () => {
    const source =
      'import json\nfs=[]\ntry:\n    while True: fs.append(open("/dev/null"))\nexcept OSError as e:\n    print(json.dumps({"opened": len(fs), "errno": e.errno}))';
    const r = await run({ interpreter: 'python3', source });
    expect(r.outcome.status).toBe('succeeded');
    const result = r.outcome.result as { opened: number; errno: number };
    expect(result.errno).toBe(24); // EMFILE
    expect(result.opened).toBeLessThan(256);
    expect(result.opened).toBeGreaterThan(200);
  });

  it('stdout flood: stopped past the result cap (killed, result_too_large)', async () => {
    const r = await run({ interpreter: 'bash', source: 'yes flood' }, null, { resultBytes: MiB });
    expect(r.outcome).toMatchObject({
      status: 'killed',
      error: { code: 'result_too_large' },
      death: { cause: 'result', limit: MiB },
    });
  });

  it('stderr flood: the log budget keeps head and tail', async () => {
    const source = 'head -c 5000000 /dev/zero | tr "\\0" x >&2; echo done >&2; echo 1';
    const r = await run({ interpreter: 'bash', source }, null, { logBytes: 4096 });
    expect(r.outcome).toMatchObject({ status: 'succeeded', result: 1 });
    expect(r.logs).toMatch(/bytes of log output dropped/);
    expect(r.logs.endsWith('done\n')).toBe(true);
    expect(r.logs.length).toBeLessThan(4300);
  });

  it('cannot read /etc/shadow (not in the sandbox)', async () => {
    const r = await run({ interpreter: 'bash', source: 'ls /etc >&2; cat /etc/shadow' });
    expect(r.outcome.status).toBe('failed');
    expect(r.logs).toContain('No such file or directory');
    expect(JSON.stringify(r.outcome.result ?? '')).not.toContain('root:');
  });

  it('cannot connect to a loopback port of the host (own network namespace)', async () => {
    let connections = 0;
    const server: Server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const source =
        'read -r port; if exec 3<>/dev/tcp/127.0.0.1/$port; then echo connected; else echo refused; fi; cat /proc/net/dev >&2';
      const r = await run({ interpreter: 'bash', source }, port);
      expect(r.outcome).toMatchObject({ status: 'succeeded', result: 'refused' });
      // Only the sandbox's own loopback exists; no interface leads out.
      expect(r.logs).toMatch(/\blo:/);
      expect(r.logs).not.toMatch(/eth|ens|veth/);
      expect(connections).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("holds only its stdio: bwrap's info/block descriptors and the worker's are not inherited", async () => {
    // Fds of the script's own shell ($$) and of a child it starts; bash keeps 255 on its script.
    // Listings go to files, not pipes: a shell holds a pipeline's pipe while it forks the next
    // command, so `ls /proc/$$/fd | tr` can race and list that pipe.
    const source =
      'ls /proc/$$/fd > /tmp/shell; sh -c \'ls /proc/$$/fd\' > /tmp/child; tr "\\n" " " < /tmp/shell; echo; tr "\\n" " " < /tmp/child';
    const r = await run({ interpreter: 'bash', source });
    expect(r.outcome.status).toBe('succeeded');
    const [shell, child] = String(r.outcome.result)
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    expect(shell).toEqual(expect.arrayContaining([0, 1, 2]));
    for (const fd of shell ?? []) expect([0, 1, 2, 255]).toContain(fd);
    expect(child).toEqual(expect.arrayContaining([0, 1, 2]));
    // The child's listing includes the fd ls opens for the directory itself (3).
    for (const fd of child ?? []) expect([0, 1, 2, 3]).toContain(fd);
  });

  it('a process ignoring SIGTERM is still stopped at the deadline', async () => {
    const source = "trap '' TERM INT HUP; while :; do sleep 0.05; done";
    const r = await run({ interpreter: 'bash', source }, null, { timeoutMs: 800 });
    expect(r.outcome).toMatchObject({ status: 'timeout', error: { code: 'timeout' }, exit: { timedOut: true } });
  });

  it('a daemonized grandchild does not outlive its invocation', async () => {
    const source = 'setsid nohup sh -c \'trap "" TERM HUP; sleep 30\' >/dev/null 2>&1 < /dev/null & echo started';
    const r = await run({ interpreter: 'bash', source });
    expect(r.outcome).toMatchObject({ status: 'succeeded', result: 'started' });
  });

  it('the probe sees its rlimits, cgroup limits, uid and mounts', async () => {
    const source = [
      'echo "nofile=$(ulimit -n)"',
      'echo "fsize=$(ulimit -f)"',
      'echo "core=$(ulimit -c)"',
      'echo "uid=$(id -u)"',
      'echo "hostname=$(cat /proc/sys/kernel/hostname)"',
      'echo "mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
      'echo "memsw=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null)"',
      'echo "pids=$(cat /sys/fs/cgroup/pids/pids.max)"',
      'echo "quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"',
      'echo "root=$(ls / | tr "\\n" " ")"',
      'echo "pid1=$(cat /proc/1/comm)"',
      'echo "write_usr=$(touch /usr/bin/x 2>/dev/null && echo yes || echo no)"',
      'echo "write_cg=$(echo 1 > /sys/fs/cgroup/pids/pids.max 2>/dev/null && echo yes || echo no)"',
      'grep -E " /(tmp|usr/bin) " /proc/mounts',
    ].join('\n');
    const r = await run({ interpreter: 'bash', source }, null, { memoryMb: 64, pids: 32, cpu: 0.5, tmpMb: 16 });
    expect(r.outcome.status).toBe('succeeded');
    const text = r.outcome.result as string;
    const kv = Object.fromEntries(
      text
        .split('\n')
        .filter((l) => /^\w+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(kv).toMatchObject({
      nofile: '256',
      fsize: String((64 * MiB) / 1024),
      core: '0',
      uid: '65534',
      hostname: 'strata',
      mem: String(64 * MiB),
      pids: '32',
      quota: '50000',
      pid1: 'bwrap',
      write_usr: 'no',
      write_cg: 'no',
    });
    if (kv.memsw) expect(kv.memsw).toBe(String(64 * MiB));
    // Only what the interpreter needs: no /home, /root, /work, /var.
    const root = (kv.root as string).trim().split(' ');
    for (const hidden of ['home', 'root', 'work', 'var', 'opt', 'srv']) expect(root).not.toContain(hidden);
    // /tmp is the invocation's own disk-backed scratch file system.
    expect(text).toMatch(/^\/dev\/loop\d+ \/tmp ext4 rw,nosuid,nodev/m);
    expect(text).toMatch(/ \/usr\/bin \S+ ro[,\s]/);
  });
});
