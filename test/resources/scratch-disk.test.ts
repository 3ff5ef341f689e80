/** Scratch disks for real (root, loop devices): made, capped, counted, torn down, reaped after a crash. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devString, ScratchDisks, wholeDiskOf } from '../../src/resources/scratch-disk.ts';
import { describeIf } from '../support/requirements.ts';
import { scratchDiskRequirement } from './cgroup-support.ts';

const MiB = 1024 * 1024;

const loopsBackedBy = (dir: string) =>
  spawnSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(`${dir}/`));
const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`${dir}/`));

describe('device numbers', () => {
  it('decodes dev_t and finds whole disks', () => {
    expect(devString(254 * 256)).toBe('254:0');
    expect(devString((8 << 8) | 17)).toBe('8:17');
    expect(devString(Number((259n << 8n) | (1n << 20n)))).toBe('259:256');
    const root = devString(statSync('/').dev);
    const whole = wholeDiskOf(root);
    if (whole) expect(whole).toMatch(/^\d+:\d+$/);
    expect(wholeDiskOf('4095:4095')).toBeUndefined();
  });
});

describeIf(scratchDiskRequirement(), 'scratch disks for real', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-scratch-test-'));
  let disks: ScratchDisks;
  beforeAll(() => {
    disks = new ScratchDisks({ dir, uid: 65534, gid: 65534 });
  });
  afterAll(async () => {
    await disks.dispose();
    await disks.reap();
    expect(loopsBackedBy(dir)).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes an empty ext4 of the asked size, owned by the sandbox user, and removes all of it', async () => {
    const d = await disks.create('t1', 8 * MiB);
    expect(d.device).toMatch(/^7:\d+$/);
    expect(readFileSync(`/sys/block/${d.loopDevice.slice(5)}/dev`, 'utf8').trim()).toBe(d.device);
    expect(statSync(d.mountPoint).uid).toBe(65534);
    expect(readdirSync(d.mountPoint)).toEqual([]);
    expect(mountsUnder(dir).some((l) => l.includes(d.mountPoint) && l.includes(' ext4 '))).toBe(true);
    const space = d.space();
    expect(space?.totalBytes).toBeLessThanOrEqual(8 * MiB);
    expect(space?.totalBytes).toBeGreaterThan(6 * MiB);
    // Sparse: nothing allocated on the host beyond the file system's own metadata.
    expect(statSync(d.image).blocks * 512).toBeLessThan(2 * MiB);
    // Full is full: the cap holds.
    expect(() => writeFileSync(join(d.mountPoint, 'big'), Buffer.alloc(9 * MiB))).toThrow(/ENOSPC/);
    expect(disks.live()).toBe(1);
    await d.destroy();
    await d.destroy(); // idempotent
    expect(disks.live()).toBe(0);
    expect(existsSync(d.image)).toBe(false);
    expect(existsSync(d.mountPoint)).toBe(false);
    expect(loopsBackedBy(dir)).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
  });

  it('several at once get distinct devices', async () => {
    const all = await Promise.all([1, 2, 3].map((i) => disks.create(`many-${i}`, 2 * MiB)));
    expect(new Set(all.map((d) => d.device)).size).toBe(3);
    await Promise.all(all.map((d) => d.destroy()));
    expect(loopsBackedBy(dir)).toEqual([]);
  });

  it('reaps what a crashed worker left: mount, loop device, image, mount point', async () => {
    const moduleUrl = new URL('../../src/resources/scratch-disk.ts', import.meta.url).href;
    const code = `const m = await import(${JSON.stringify(moduleUrl)});
      const d = new m.ScratchDisks({ dir: ${JSON.stringify(dir)}, uid: 65534, gid: 65534 });
      await d.create('crashed', 2 * 1024 * 1024); console.log('ready'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d) => String(d).includes('ready') && resolve());
      child.once('exit', (c) => reject(new Error(`child exited ${c}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(loopsBackedBy(dir)).toHaveLength(1);
    expect(mountsUnder(dir)).toHaveLength(1);
    // The dead worker's disk is reaped; a live one of ours is left alone.
    const mine = await disks.create('alive', 2 * MiB);
    expect(await disks.reap()).toBe(1);
    expect(loopsBackedBy(dir).map((l) => l.trim().split(/\s+/)[0])).toEqual([mine.loopDevice]);
    expect(readdirSync(dir).sort()).toEqual([
      `strata-scratch-${process.pid}-alive`,
      `strata-scratch-${process.pid}-alive.img`,
    ]);
    await mine.destroy();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('probe() says whether this host can make one', async () => {
    expect(await disks.probe()).toEqual({ ok: true });
    expect(disks.live()).toBe(0);
  });
});
