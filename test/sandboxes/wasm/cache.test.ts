/** The wasm tier's disk cache: atomic, verified on read, built once across processes. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactCache } from '../../../sandboxes/wasm/cache.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'strata-wasm-cache-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const build = (content: string, calls: string[]) => async (dir: string) => {
  calls.push(content);
  await writeFile(join(dir, 'out.bin'), content);
  return { content };
};

describe('ArtifactCache', () => {
  it('builds once, then a fresh instance (a restart, another worker) reads the verified entry', async () => {
    const calls: string[] = [];
    const first = await new ArtifactCache(root).getOrBuild('k1', build('a', calls));
    expect(first).toMatchObject({ hit: false, meta: { content: 'a' } });
    const second = await new ArtifactCache(root).getOrBuild('k1', build('b', calls));
    expect(second).toMatchObject({ hit: true, meta: { content: 'a' } });
    expect(calls).toEqual(['a']);
    // Nothing half-made is left beside the entry.
    expect(readdirSync(root)).toEqual(['k1']);
  });

  it('removes and rebuilds an entry whose files do not match their recorded sha256', async () => {
    const calls: string[] = [];
    await new ArtifactCache(root).getOrBuild('k2', build('good', calls));
    writeFileSync(join(root, 'k2', 'out.bin'), 'tampered');
    const again = await new ArtifactCache(root).getOrBuild('k2', build('rebuilt', calls));
    expect(again).toMatchObject({ hit: false, meta: { content: 'rebuilt' } });
    expect(calls).toEqual(['good', 'rebuilt']);
  });

  it('two caches on one directory building the same key at once build it once', async () => {
    const calls: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = async (dir: string) => {
      calls.push('slow');
      await gate;
      await writeFile(join(dir, 'out.bin'), 'x');
      return { content: 'x' };
    };
    const a = new ArtifactCache(root, { pollMs: 10 }).getOrBuild('k3', slow);
    // Wait for the first builder to hold the lock (an event: its lock directory exists).
    while (!readdirSync(root).some((n) => n.endsWith('.lock'))) await new Promise((r) => setImmediate(r));
    const b = new ArtifactCache(root, { pollMs: 10 }).getOrBuild('k3', build('y', calls));
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(calls).toEqual(['slow']);
    expect(ra.meta).toEqual({ content: 'x' });
    expect(rb).toMatchObject({ hit: true, meta: { content: 'x' } });
  });

  it('takes over the lock of a builder that died', async () => {
    const calls: string[] = [];
    // A lock left by a process that no longer exists.
    const lock = join(root, '.k4.lock');
    rmSync(lock, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(lock));
    writeFileSync(
      join(lock, 'owner.json'),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), at: Date.now() }),
    );
    const entry = await new ArtifactCache(root, { pollMs: 10 }).getOrBuild('k4', build('z', calls));
    expect(entry.hit).toBe(false);
    expect(calls).toEqual(['z']);
  });

  it('a failed build leaves nothing behind', async () => {
    await expect(
      new ArtifactCache(root).getOrBuild('k5', async () => {
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(readdirSync(root)).toEqual([]);
  });
});
