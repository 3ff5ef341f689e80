/**
 * On-disk cache of compiled and transformed artifacts, one directory per key (a sha256 of
 * everything the output depends on: the upload's sha256, the transform and tool versions, the
 * options): the files the build made plus `meta.json` with the build's meta and the sha256 of
 * every file. Content-addressed, so an entry never changes once made:
 *
 * - written atomically: built under a temporary name, then renamed into place;
 * - verified on read: every file's sha256 must match (a torn or tampered entry is removed and
 *   rebuilt), once per process per key;
 * - built once across processes: a builder holds `<key>.lock` (mkdir is atomic); another worker
 *   on the same data dir waits for the entry instead of building it again, unless the holder died.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

export interface CacheEntry<Meta> {
  dir: string;
  meta: Meta;
}

export interface CacheResult<Meta> extends CacheEntry<Meta> {
  /** Found on disk (or already verified by this process): nothing was built. */
  hit: boolean;
  /** Time spent reading and verifying the entry, ms. */
  verifyMs: number;
  /** Time spent waiting for another process's build, ms. */
  waitMs: number;
}

interface Stored<Meta> {
  v: 1;
  meta: Meta;
  /** sha256 of every file of the entry but meta.json. */
  files: Record<string, string>;
}

interface LockOwner {
  pid: number;
  host: string;
  at: number;
}

export interface CacheOptions {
  logger?: Logger | undefined;
  /** A lock older than this is taken over even when its holder looks alive (a hung build). */
  staleLockMs?: number;
  /** How often a waiting process looks for the entry another one is building. */
  pollMs?: number;
}

const META = 'meta.json';

export class ArtifactCache {
  readonly root: string;
  readonly #building = new Map<string, Promise<CacheResult<unknown>>>();
  readonly #verified = new Map<string, CacheEntry<unknown>>();
  readonly #logger: Logger | undefined;
  readonly #staleLockMs: number;
  readonly #pollMs: number;

  constructor(root: string, options: CacheOptions = {}) {
    this.root = root;
    this.#logger = options.logger;
    this.#staleLockMs = options.staleLockMs ?? 30 * 60_000;
    this.#pollMs = options.pollMs ?? 100;
  }

  dirOf(key: string): string {
    return join(this.root, key);
  }

  /** The verified entry for `key`, or undefined (a corrupt one is removed). */
  async read<Meta>(key: string): Promise<CacheEntry<Meta> | undefined> {
    const known = this.#verified.get(key) as CacheEntry<Meta> | undefined;
    if (known) return known;
    const dir = this.dirOf(key);
    let stored: Stored<Meta>;
    try {
      stored = JSON.parse(await readFile(join(dir, META), 'utf8')) as Stored<Meta>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return this.#discard(key, `unreadable ${META}: ${(error as Error).message}`);
    }
    if (stored?.v !== 1 || typeof stored.files !== 'object' || stored.files === null) {
      return this.#discard(key, `${META} is not a cache entry of this version`);
    }
    for (const [name, sum] of Object.entries(stored.files)) {
      const actual = await hashFile(join(dir, name)).catch(() => 'missing');
      if (actual !== sum) return this.#discard(key, `${name} does not match its recorded sha256 (${actual})`);
    }
    const entry = { dir, meta: stored.meta };
    this.#verified.set(key, entry);
    return entry;
  }

  /** The cached entry for `key`, or the one `build` writes into a fresh directory. */
  async getOrBuild<Meta>(key: string, build: (dir: string) => Promise<Meta>): Promise<CacheResult<Meta>> {
    const started = performance.now();
    const hit = await this.read<Meta>(key);
    if (hit) return { ...hit, hit: true, verifyMs: performance.now() - started, waitMs: 0 };
    let pending = this.#building.get(key) as Promise<CacheResult<Meta>> | undefined;
    if (!pending) {
      pending = this.#buildLocked(key, build, performance.now() - started);
      this.#building.set(key, pending as Promise<CacheResult<unknown>>);
      pending.finally(() => this.#building.delete(key)).catch(() => {});
    }
    return pending;
  }

  async #buildLocked<Meta>(
    key: string,
    build: (dir: string) => Promise<Meta>,
    verifyMs: number,
  ): Promise<CacheResult<Meta>> {
    await mkdir(this.root, { recursive: true });
    const waitStarted = performance.now();
    for (;;) {
      if (await this.#lock(key)) break;
      // Another process builds it: wait for its entry (or for its lock to go stale).
      await sleep(this.#pollMs);
      const done = await this.read<Meta>(key);
      if (done) return { ...done, hit: true, verifyMs, waitMs: performance.now() - waitStarted };
    }
    const waitMs = performance.now() - waitStarted;
    try {
      const done = await this.read<Meta>(key);
      if (done) return { ...done, hit: true, verifyMs, waitMs };
      return { ...(await this.#build(key, build)), hit: false, verifyMs, waitMs };
    } finally {
      await rm(this.#lockDir(key), { recursive: true, force: true });
    }
  }

  async #build<Meta>(key: string, build: (dir: string) => Promise<Meta>): Promise<CacheEntry<Meta>> {
    const dir = this.dirOf(key);
    const temp = join(this.root, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
    await mkdir(temp, { recursive: true });
    try {
      const meta = await build(temp);
      const files: Record<string, string> = {};
      for (const name of await readdir(temp)) {
        if (name !== META) files[name] = await hashFile(join(temp, name));
      }
      await writeFile(join(temp, META), JSON.stringify({ v: 1, meta, files } satisfies Stored<Meta>));
      try {
        await rename(temp, dir);
      } catch (error) {
        // An entry appeared meanwhile (a holder whose lock was taken over finished): keep it.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        await rm(temp, { recursive: true, force: true });
        const theirs = await this.read<Meta>(key);
        if (theirs) return theirs;
        throw error;
      }
      const entry = { dir, meta };
      this.#verified.set(key, entry);
      return entry;
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }

  #lockDir(key: string): string {
    return join(this.root, `.${key}.lock`);
  }

  /** Take the build lock for `key`; false while a live process holds it. */
  async #lock(key: string): Promise<boolean> {
    const dir = this.#lockDir(key);
    const owner: LockOwner = { pid: process.pid, host: hostname(), at: Date.now() };
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'owner.json'), JSON.stringify(owner));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await this.#lockIsLive(dir)) return false;
    this.#logger?.warn({ lock: dir }, 'taking over a stale wasm cache build lock');
    await rm(dir, { recursive: true, force: true });
    return this.#lock(key);
  }

  async #lockIsLive(dir: string): Promise<boolean> {
    let owner: LockOwner | undefined;
    try {
      owner = JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')) as LockOwner;
    } catch {
      // Just made, its owner file not written yet: live unless it is old.
      const info = await stat(dir).catch(() => undefined);
      return info !== undefined && Date.now() - info.mtimeMs < 10_000;
    }
    if (Date.now() - owner.at > this.#staleLockMs) return false;
    if (owner.host !== hostname()) return true;
    return pidAlive(owner.pid);
  }

  async #discard(key: string, why: string): Promise<undefined> {
    this.#logger?.warn({ key, why }, 'removing a corrupt wasm cache entry; it will be rebuilt');
    this.#verified.delete(key);
    await rm(this.dirOf(key), { recursive: true, force: true });
    return undefined;
  }

  /** Remove half-built directories and dead builders' locks left by a worker that died mid-build. */
  async sweep(ageMs = 10 * 60_000): Promise<number> {
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return 0;
    }
    for (const name of names) {
      const path = join(this.root, name);
      if (name.startsWith('.') && name.endsWith('.lock') && !(await this.#lockIsLive(path))) {
        await rm(path, { recursive: true, force: true });
        removed++;
        continue;
      }
      if (!name.startsWith('.') || !name.endsWith('.tmp')) continue;
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > ageMs) {
        await rm(path, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  async remove(key: string): Promise<void> {
    this.#verified.delete(key);
    await rm(this.dirOf(key), { recursive: true, force: true });
  }
}

/** sha256 of a file, read in chunks so a large file never blocks the event loop. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
