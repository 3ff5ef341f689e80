/**
 * The docker tier's disk-backed /tmp (issue 16 item 12): a fresh ext4 on a loop device per
 * container, capped at tmpMb, where ioReadBps/ioWriteBps bind (docker's BlkioDevice*Bps on the
 * loop device) and ioReadBytes/ioWriteBytes count; reaped after a test and after a crash.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDockerDriver, type DockerDriver } from '../../../sandboxes/docker/driver.ts';
import type { RunOutcome } from '../../../src/core/execution.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import type { ManifestInput } from '../../../src/core/manifest.ts';
import { allOf, blkioV1Requirement, scratchDiskRequirement } from '../../resources/cgroup-support.ts';
import { describeIf } from '../../support/requirements.ts';
import { SUITE_START_MS } from './daemon-lock.ts';
import {
  artifact,
  dockerRequirement,
  dockerSettings,
  invocation,
  runOptions,
  startSuiteDriver,
  stopSuiteDriver,
  uniqueWorkerId,
} from './helpers.ts';

const MiB = 1024 * 1024;
/** Prints {"ms": <e - s>} from two of bash's $EPOCHREALTIME readings (the image has no date(1)). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, not a template
const ELAPSED = 'echo "{\\"ms\\": $(( (${e/./} - ${s/./}) / 1000 ))}"';
const SCRATCH_MODULE = fileURLToPath(new URL('../../../src/resources/scratch-disk.ts', import.meta.url));

/** Loop devices, mounts and files in `dir` that still exist. */
function scratchLeft(dir: string): string[] {
  const loops = spawnSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(`${dir}/`));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`${dir}/`));
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    files = [];
  }
  return [...loops, ...mounts, ...files];
}

describeIf(
  allOf(dockerRequirement(), scratchDiskRequirement(), blkioV1Requirement()),
  'docker tier: scratch disk /tmp and disk I/O',
  () => {
    const workerId = uniqueWorkerId('disk');
    let driver: DockerDriver;
    let dir: string;

    beforeAll(async () => {
      driver = await startSuiteDriver({ poolMin: 0, poolMaxPerKey: 1 }, workerId);
      dir = driver.scratchDisks.dir;
    }, SUITE_START_MS);
    afterAll(async () => {
      await stopSuiteDriver(driver, workerId);
      expect(scratchLeft(dir)).toEqual([]);
    });

    async function run(
      manifest: Partial<ManifestInput> & { name: string },
      limits: Partial<ResolvedLimits> = {},
    ): Promise<RunOutcome> {
      const p = await driver.prepare(
        artifact({ runtime: 'script', interpreter: 'bash', trust: 'untrusted', ...manifest } as ManifestInput),
      );
      const r = runOptions({ timeoutMs: 60_000, ...limits });
      try {
        return await driver.run(p, invocation(null), r.options);
      } finally {
        r.dispose();
      }
    }

    it('health says /tmp is a disk; the bandwidth limits are enforced, an unenforceable weight is named', () => {
      const d = driver.health().details as { scratch: { kind: string }; missingLimits: string[] };
      expect(d.scratch.kind).toBe('disk');
      expect(driver.capabilities.enforces).toEqual(expect.arrayContaining(['ioReadBps', 'ioWriteBps', 'tmpMb']));
      expect(d.missingLimits.every((m) => !/ioReadBps|ioWriteBps/.test(m))).toBe(true);
    });

    it('/tmp is an ext4 of tmpMb on a loop device, noexec,nosuid,nodev, writable by the sandbox user, capped', async () => {
      const source = [
        'while read -r dev mnt type opts _; do [ "$mnt" = /tmp ] && echo "$type $opts"; done < /proc/mounts',
        'echo "uid=$(id -u)"',
        'dd if=/dev/zero of=/tmp/fill bs=1M count=40 2>/dev/null; echo "filled=$(wc -c < /tmp/fill)"',
      ].join('\n');
      const outcome = await run({ name: 'disk-mount', source }, { tmpMb: 16 });
      expect(outcome.status).toBe('succeeded');
      const text = String(outcome.result);
      const [type, opts] = (text.split('\n')[0] ?? '').split(' ');
      expect(type).toBe('ext4');
      expect(opts?.split(',')).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec']));
      expect(text).toContain('uid=65534');
      const filled = Number(/filled=(\d+)/.exec(text)?.[1]);
      expect(filled).toBeGreaterThan(8 * MiB);
      expect(filled).toBeLessThanOrEqual(16 * MiB);
    });

    it('ioWriteBps binds on /tmp: 16 MiB with oflag=direct at 2 MiB/s takes >= 6 s, bytes counted', async () => {
      const source = `s=$EPOCHREALTIME; dd if=/dev/zero of=/tmp/x bs=1M count=16 oflag=direct 2>/dev/null; e=$EPOCHREALTIME; ${ELAPSED}`;
      const outcome = await run({ name: 'disk-write', source }, { ioWriteBps: 2 * MiB, tmpMb: 32 });
      expect(outcome.status).toBe('succeeded');
      // The feature is the floor (16 MiB / 2 MiB/s = 8 s); no upper bound on a loaded machine.
      expect((outcome.result as { ms: number }).ms).toBeGreaterThanOrEqual(6000);
      expect(outcome.usage.measured).toEqual(expect.arrayContaining(['ioReadBytes', 'ioWriteBytes']));
      expect(outcome.usage.ioWriteBytes).toBeGreaterThanOrEqual(16 * MiB);
      // The disk behind the image is not counted a second time.
      expect(outcome.usage.ioWriteBytes).toBeLessThan(20 * MiB);
      console.info(
        `[measure] docker: 16 MiB dd oflag=direct at 2 MiB/s took ${(outcome.result as { ms: number }).ms} ms`,
      );
    }, 120_000);

    it('ioReadBps binds on /tmp: 8 MiB read with iflag=direct at 2 MiB/s takes >= 3 s, bytes counted', async () => {
      const source = [
        'dd if=/dev/zero of=/tmp/f bs=1M count=8 oflag=direct 2>/dev/null',
        's=$EPOCHREALTIME; dd if=/tmp/f of=/dev/null bs=1M iflag=direct 2>/dev/null; e=$EPOCHREALTIME',
        ELAPSED,
      ].join('\n');
      const outcome = await run({ name: 'disk-read', source }, { ioReadBps: 2 * MiB, tmpMb: 16 });
      expect(outcome.status).toBe('succeeded');
      expect((outcome.result as { ms: number }).ms).toBeGreaterThanOrEqual(3000);
      expect(outcome.usage.ioReadBytes).toBeGreaterThanOrEqual(8 * MiB);
      expect(outcome.usage.ioWriteBytes).toBeGreaterThanOrEqual(8 * MiB);
    }, 120_000);

    it('a cold container (custom image) gets its own scratch disk too, and its bytes are counted', async () => {
      const image = driver.runnerImages().script as string;
      const source = [
        'dd if=/dev/zero of=/tmp/c bs=1M count=4 oflag=direct 2>/dev/null',
        'while read -r dev mnt type _; do [ "$mnt" = /tmp ] && echo "$type"; done < /proc/mounts; true',
      ].join('\n');
      const outcome = await run(
        { name: 'disk-cold', runtime: 'container', image, command: ['/bin/bash', '-c', source] },
        { tmpMb: 8 },
      );
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'succeeded', result: 'ext4' });
      expect(outcome.usage.ioWriteBytes).toBeGreaterThanOrEqual(4 * MiB);
      // Its disk went with it (the warm containers' disks live on with them).
      expect(scratchLeft(dir).filter((l) => l.includes('-cold-'))).toEqual([]);
    });

    it('refuses at prepare a limit this host cannot enforce (ioWeight without a weighted scheduler)', async () => {
      const missing = (driver.health().details as { missingLimits: string[] }).missingLimits;
      const weight = missing.find((m) => m.startsWith('ioWeight cannot be enforced'));
      const a = artifact({
        name: 'weighted',
        runtime: 'script',
        interpreter: 'sh',
        trust: 'untrusted',
        source: 'true',
        limits: { ioWeight: 500 },
      });
      if (weight) {
        expect(driver.capabilities.enforces).not.toContain('ioWeight');
        await expect(driver.prepare(a)).rejects.toMatchObject({
          code: 'permission_denied',
          message: expect.stringContaining('limits.ioWeight: ioWeight cannot be enforced'),
        });
      } else await expect(driver.prepare(a)).resolves.toMatchObject({ path: 'warm' });
    });

    it("reaps a crashed worker's scratch disks when a worker with its id starts", async () => {
      // A worker that made a disk and died without cleaning up (SIGKILL).
      const code = `import { ScratchDisks } from ${JSON.stringify(SCRATCH_MODULE)};
        const d = new ScratchDisks({ dir: ${JSON.stringify(dir)}, uid: 0, gid: 0 });
        await d.create('crashed', 4 * 1024 * 1024);
        process.kill(process.pid, 'SIGKILL');`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
      expect(r.signal).toBe('SIGKILL');
      const crashed = (l: string) => l.includes('crashed');
      expect(scratchLeft(dir).filter(crashed).length).toBeGreaterThan(0);
      // The next worker with that id (same scratch directory) removes it at start-up.
      // Keeping the daemon lock: another suite must not run in between.
      await driver.dispose();
      driver = createDockerDriver({ settings: dockerSettings({ poolMin: 0, poolMaxPerKey: 1 }), workerId });
      await driver.start();
      await driver.imagesReady();
      expect(scratchLeft(dir).filter(crashed)).toEqual([]);
      const outcome = await run({ name: 'after-reap', source: 'echo ok' });
      expect(outcome.result).toBe('ok');
    }, 300_000);
  },
);

describeIf(dockerRequirement(), 'docker tier: tmpfs /tmp (docker.scratch=tmpfs)', () => {
  const workerId = uniqueWorkerId('tmpfs');
  let driver: DockerDriver;
  beforeAll(async () => {
    driver = await startSuiteDriver({ poolMin: 0, scratch: 'tmpfs' }, workerId);
  }, SUITE_START_MS);
  afterAll(() => stopSuiteDriver(driver, workerId));

  it('health says so, and a deploy asking for a disk bandwidth limit is refused with the reason', async () => {
    expect(driver.health().details).toMatchObject({ scratch: { kind: 'tmpfs', reason: 'docker.scratch is tmpfs' } });
    expect(driver.capabilities.enforces).not.toContain('ioWriteBps');
    await expect(
      driver.prepare(
        artifact({
          name: 'throttled',
          runtime: 'script',
          interpreter: 'sh',
          trust: 'untrusted',
          source: 'true',
          limits: { ioWriteBps: 2 * MiB },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'permission_denied',
      message: expect.stringMatching(/limits\.ioWriteBps: .*only writable place is a tmpfs/),
    });
  });
});
