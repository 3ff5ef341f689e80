/**
 * On-disk cache of transformed artifacts, one directory per key (upload sha256 + transform
 * version + options): `meta.json` plus the files the transform made (module.wasm, or a
 * transpiled component). A directory appears atomically (built under a temp name, renamed),
 * so a second worker or a restart reads it instead of redoing the work.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CacheEntry<Meta> {
  dir: string;
  meta: Meta;
}

export class ArtifactCache {
  readonly root: string;
  readonly #building = new Map<string, Promise<CacheEntry<unknown>>>();

  constructor(root: string) {
    this.root = root;
  }

  dirOf(key: string): string {
    return join(this.root, key);
  }

  /** The cached entry for `key`, or the one `build` writes into a fresh directory. */
  async getOrBuild<Meta>(
    key: string,
    build: (dir: string) => Promise<Meta>,
  ): Promise<CacheEntry<Meta> & { hit: boolean }> {
    const dir = this.dirOf(key);
    const hit = await this.#read<Meta>(dir);
    if (hit) return { dir, meta: hit, hit: true };
    let pending = this.#building.get(key) as Promise<CacheEntry<Meta>> | undefined;
    if (!pending) {
      pending = this.#build(key, dir, build);
      this.#building.set(key, pending as Promise<CacheEntry<unknown>>);
      pending.finally(() => this.#building.delete(key)).catch(() => {});
    }
    return { ...(await pending), hit: false };
  }

  async #read<Meta>(dir: string): Promise<Meta | undefined> {
    try {
      return JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Meta;
    } catch {
      return undefined;
    }
  }

  async #build<Meta>(key: string, dir: string, build: (dir: string) => Promise<Meta>): Promise<CacheEntry<Meta>> {
    await mkdir(this.root, { recursive: true });
    const temp = join(this.root, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
    await mkdir(temp, { recursive: true });
    try {
      const meta = await build(temp);
      await writeFile(join(temp, 'meta.json'), JSON.stringify(meta));
      try {
        await rename(temp, dir);
      } catch (error) {
        // Another worker finished first: theirs is as good as ours.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        await rm(temp, { recursive: true, force: true });
      }
      return { dir, meta: ((await this.#read<Meta>(dir)) ?? meta) as Meta };
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }

  /** Remove half-built directories left by a worker that died mid-build (older than `ageMs`). */
  async sweep(ageMs = 10 * 60_000): Promise<number> {
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return 0;
    }
    for (const name of names) {
      if (!name.startsWith('.') || !name.endsWith('.tmp')) continue;
      const path = join(this.root, name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > ageMs) {
        await rm(path, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  async remove(key: string): Promise<void> {
    await rm(this.dirOf(key), { recursive: true, force: true });
  }
}
