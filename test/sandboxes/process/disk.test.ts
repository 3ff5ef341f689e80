/**
 * The writable part of a sandbox: only /tmp, a fresh disk-backed scratch file system of tmpMb,
 * where disk-I/O limits bind and bytes are counted; gone (mount, loop device, file) afterwards.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { allOf, blkioV1Requirement, scratchDiskRequirement } from '../../resources/cgroup-support.ts';
import { describeIf } from '../../support/requirements.ts';
import {
  artifactOf,
  groupGone,
  processTierRequirement,
  type RunResult,
  runScript,
  sandboxProcessesLeft,
  startTier,
  stopTier,
  type Tier,
} from './support.ts';

const MiB = 1024 * 1024;

/** Loop devices, mounts and files of this tier's scratch directory that still exist. */
function scratchLeft(tier: Tier): string[] {
  // Only this test process's disks: other suites run at the same time in other processes.
  const mine = `${tier.driver.scratchDisks.dir}/strata-scratch-${process.pid}-`;
  const loops = spawnSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(mine));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(mine));
  let files: string[] = [];
  try {
    files = readdirSync(tier.driver.scratchDisks.dir).filter((n) => n.startsWith(`strata-scratch-${process.pid}-`));
  } catch {
    files = [];
  }
  return [...loops, ...mounts, ...files];
}

describeIf(
  allOf(processTierRequirement(), scratchDiskRequirement(), blkioV1Requirement()),
  'process tier: scratch disk and disk I/O',
  () => {
    let tier: Tier;
    let last: RunResult | undefined;
    beforeAll(async () => {
      tier = await startTier('disk');
    });
    afterAll(async () => {
      await stopTier(tier);
      expect(scratchLeft(tier)).toEqual([]);
    });
    afterEach(() => {
      if (last) expect(groupGone(last.groupDirs)).toBe(true);
      last = undefined;
      expect(sandboxProcessesLeft(tier)).toEqual([]);
      expect(tier.driver.scratchDisks.live()).toBe(0);
      expect(scratchLeft(tier)).toEqual([]);
    });
    const run = async (...args: Parameters<typeof runScript> extends [unknown, ...infer R] ? R : never) => {
      last = await runScript(tier, ...args);
      return last;
    };

    it('health says /tmp is a disk and which I/O limits cannot bind here', () => {
      const d = tier.driver.health().details as { scratch: { kind: string }; missingLimits: string[] };
      expect(d.scratch.kind).toBe('disk');
      expect(tier.driver.capabilities.enforces).toEqual(expect.arrayContaining(['ioReadBps', 'ioWriteBps', 'tmpMb']));
      expect(tier.driver.capabilities).toMatchObject({ network: 'allowlist', ownProcesses: true });
    });

    it('only /tmp is writable, and only up to tmpMb (4 x 60 MB elsewhere all fail)', async () => {
      const source = [
        'for p in / /strata /dev /dev/shm /run /sys /proc /usr /bin /tmp; do',
        '  dd if=/dev/zero of=$p/fill bs=1M count=60 2>/dev/null',
        '  echo "$p $(stat -c %s $p/fill 2>/dev/null || echo 0)"',
        'done',
        'mkdir /newdir 2>/dev/null && echo mkdir-ok || echo mkdir-refused',
        'touch /strata/main.sh 2>/dev/null && echo touch-ok || echo touch-refused',
        'echo "tmpfs=$(grep -c " tmpfs rw" /proc/mounts)"',
      ].join('\n');
      const r = await run({ interpreter: 'bash', source }, null, { tmpMb: 8 });
      expect(r.outcome.status).toBe('succeeded');
      const lines = String(r.outcome.result).split('\n');
      const sizes = Object.fromEntries(lines.filter((l) => l.startsWith('/')).map((l) => l.split(' ')));
      for (const p of ['/', '/strata', '/dev', '/dev/shm', '/run', '/sys', '/proc', '/usr', '/bin'])
        expect(sizes[p]).toBe('0');
      expect(Number(sizes['/tmp'])).toBeGreaterThan(4 * MiB);
      expect(Number(sizes['/tmp'])).toBeLessThanOrEqual(8 * MiB);
      expect(lines).toEqual(expect.arrayContaining(['mkdir-refused', 'touch-refused', 'tmpfs=0']));
    });

    it('a full /tmp that fails the script is a death by disk, with the limit', async () => {
      const source = 'set -e; dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>/dev/null';
      const r = await run({ interpreter: 'bash', source }, null, { tmpMb: 4 });
      expect(r.outcome).toMatchObject({
        status: 'failed',
        error: { code: 'function_error', message: expect.stringContaining('/tmp was full') },
        death: { cause: 'disk', limit: 4 },
      });
    });

    it('each invocation gets an empty /tmp (nothing of the previous one is left)', async () => {
      await run({ interpreter: 'sh', source: 'echo secret > /tmp/left-behind; ls -A /tmp' });
      const r = await run({ interpreter: 'sh', source: 'ls -A /tmp | wc -l' });
      expect(r.outcome.result).toBe(0);
    });

    it('ioWriteBps binds on /tmp: 16 MiB with oflag=direct at 2 MiB/s takes >= 6 s, bytes counted', async () => {
      const source =
        's=$(date +%s%N); dd if=/dev/zero of=/tmp/f bs=1M count=16 oflag=direct 2>/dev/null; e=$(date +%s%N); echo "{\\"ms\\": $(( (e - s) / 1000000 ))}"';
      const r = await run({ interpreter: 'bash', source }, null, { ioWriteBps: 2 * MiB, tmpMb: 32, timeoutMs: 60_000 });
      expect(r.outcome.status).toBe('succeeded');
      // The feature is the floor (16 MiB / 2 MiB/s = 8 s); no upper bound on a loaded machine.
      expect((r.outcome.result as { ms: number }).ms).toBeGreaterThanOrEqual(6000);
      expect(r.outcome.usage.measured).toEqual(expect.arrayContaining(['ioReadBytes', 'ioWriteBytes']));
      expect(r.outcome.usage.ioWriteBytes).toBeGreaterThanOrEqual(16 * MiB);
      // The disk behind the image is not counted a second time.
      expect(r.outcome.usage.ioWriteBytes).toBeLessThan(20 * MiB);
    }, 90_000);

    it('ioReadBps binds on /tmp: 8 MiB read with iflag=direct at 2 MiB/s takes >= 3 s, bytes counted', async () => {
      const source = [
        'dd if=/dev/zero of=/tmp/f bs=1M count=8 oflag=direct 2>/dev/null',
        's=$(date +%s%N); dd if=/tmp/f of=/dev/null bs=1M iflag=direct 2>/dev/null; e=$(date +%s%N)',
        'echo "{\\"ms\\": $(( (e - s) / 1000000 ))}"',
      ].join('\n');
      const r = await run({ interpreter: 'bash', source }, null, { ioReadBps: 2 * MiB, tmpMb: 16, timeoutMs: 60_000 });
      expect(r.outcome.status).toBe('succeeded');
      expect((r.outcome.result as { ms: number }).ms).toBeGreaterThanOrEqual(3000);
      expect(r.outcome.usage.ioReadBytes).toBeGreaterThanOrEqual(8 * MiB);
      expect(r.outcome.usage.ioWriteBytes).toBeGreaterThanOrEqual(8 * MiB);
    }, 90_000);

    it('refuses at prepare a limit this host cannot enforce (ioWeight without a weighted scheduler)', async () => {
      const weight = (tier.driver.health().details as { missingLimits: string[] }).missingLimits.find((m) =>
        m.startsWith('ioWeight cannot be enforced'),
      );
      const a = artifactOf({
        name: 'weighted',
        runtime: 'script',
        interpreter: 'sh',
        source: 'true',
        limits: { ioWeight: 500 },
      });
      if (weight) {
        await expect(tier.driver.prepare(a)).rejects.toMatchObject({
          code: 'permission_denied',
          message: expect.stringContaining('limits.ioWeight: ioWeight cannot be enforced'),
        });
        expect(tier.driver.capabilities.enforces).not.toContain('ioWeight');
      } else await expect(tier.driver.prepare(a)).resolves.toBeTruthy();
    });
  },
);

describeIf(processTierRequirement(), 'process tier: /tmp as tmpfs (process.scratch = tmpfs)', () => {
  let tier: Tier;
  beforeAll(async () => {
    tier = await startTier('tmpfs', { scratch: 'tmpfs' });
  });
  afterAll(async () => stopTier(tier));

  it('runs with a size-capped tmpfs and refuses I/O bandwidth limits, saying why', async () => {
    const r = await runScript(tier, { interpreter: 'sh', source: 'grep " /tmp " /proc/mounts' }, null, { tmpMb: 4 });
    expect(String(r.outcome.result)).toMatch(/^tmpfs \/tmp tmpfs rw.*size=4096k/);
    const a = artifactOf({
      name: 'io',
      runtime: 'script',
      interpreter: 'sh',
      source: 'true',
      limits: { ioWriteBps: 1024 },
    });
    await expect(tier.driver.prepare(a)).rejects.toMatchObject({
      code: 'permission_denied',
      message: expect.stringMatching(/limits.ioWriteBps: .*tmpfs, where block-I\/O throttles never apply/),
    });
    expect(tier.driver.capabilities.enforces).not.toContain('ioWriteBps');
  });
});
