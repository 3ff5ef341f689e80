/**
 * The wasm tier's prepare(): from an artifact to what a host needs to run it, through the disk
 * cache (cache.ts) and the compile thread (compile/compile-pool.ts), so no step runs on the
 * serving thread and nothing is built twice for one key, across restarts and worker processes.
 *
 * - core modules: validate, meter fuel (when asked), cap memory -> module.wasm
 * - components: transpile with jco, check imports, cap memories
 * - JS: rewrite the module (acorn) -> function.js, plus the shared JS engine component, built
 *   once per engine version (in a child process) and capped once per memory limit.
 */

import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Artifact } from '../../src/core/driver.ts';
import { StrataError } from '../../src/core/errors.ts';
import type { ArtifactCache, CacheResult } from './cache.ts';
import type { CompilePool } from './compile/compile-pool.ts';
import { buildEngineInChild } from './compile/engine-builder.ts';
import type { CompileJob, EngineVariantMeta, JsMeta, ModuleMeta } from './compile/jobs.ts';
import type { CompileTimer } from './compile-report.ts';
import type { GuestMeta } from './host/protocol.ts';
import { engineKey, type JsEngine, type JsEngineChoice, pickEngine } from './js-engine/build-engine.ts';
import { REWRITE_VERSION } from './js-engine/rewrite.ts';
import { transformKey } from './transform.ts';
import { checkMagic } from './validate.ts';

export interface PreparedArtifact {
  /** Names the prepared form in the hosts' caches. */
  key: string;
  /** Routes invocations to the host (and thread) most likely to have this warm. */
  routeKey: string;
  meta: GuestMeta;
  /** Transformed module bytes, sent to a host that has not compiled this key yet. */
  bytes?: Uint8Array;
  tmp: boolean;
  /** Whether prepare() found everything already on disk. */
  cacheHit: boolean;
}

export interface PreparerOptions {
  cache: ArtifactCache;
  /** Where the JS engines live (may be shared by several data dirs). */
  engineCache: ArtifactCache;
  pool: CompilePool;
  jsEngine: JsEngineChoice;
  /** Longest an engine build may take, ms. */
  engineTimeoutMs: number;
  logger?: Logger | undefined;
}

const ENGINE_NAME: Record<JsEngine, string> = { starlingmonkey: 'StarlingMonkey', quickjs: 'QuickJS' };

export class Preparer {
  readonly #o: PreparerOptions;
  /** Engine builds in flight: their child's pid (to raise a background build's priority) and abort. */
  readonly #builds = new Map<JsEngine, { pid?: number; controller: AbortController }>();

  constructor(options: PreparerOptions) {
    this.#o = options;
  }

  async prepare(artifact: Artifact, capPages: number, timer: CompileTimer): Promise<PreparedArtifact> {
    const { manifest } = artifact;
    refuseNetwork(manifest.permissions.network);
    const tmp = manifest.permissions.tmp;
    if (manifest.runtime === 'js')
      return this.#js(manifest.source ?? new TextDecoder().decode(artifact.code), capPages, tmp, timer);
    if (manifest.runtime !== 'wasm') {
      throw new StrataError('unsupported_runtime', `the wasm tier cannot run runtime "${manifest.runtime}"`);
    }
    const bytes = artifact.code;
    const kind = checkMagic(bytes);
    const uploadSha = await sha256Async(bytes);
    if (kind === 'component') {
      const key = transformKey(uploadSha, 'component', { capPages });
      const entry = await this.#cached<Omit<Extract<GuestMeta, { kind: 'component' }>, 'dir'>>(
        this.#o.cache,
        key,
        timer,
        (dir) => this.#job({ kind: 'component', bytes, capPages }, dir, timer),
      );
      const meta: GuestMeta = { kind: 'component', dir: entry.dir, maxPages: entry.meta.maxPages };
      return { key, routeKey: key, meta, tmp, cacheHit: entry.hit };
    }
    const fuel = manifest.limits.fuel !== undefined;
    const key = transformKey(uploadSha, 'module', { capPages, fuel, entry: manifest.entry ?? null });
    const entry = await this.#cached<ModuleMeta>(this.#o.cache, key, timer, (dir) =>
      this.#job({ kind: 'module', bytes, capPages, fuel, entry: manifest.entry }, dir, timer),
    );
    const transformed = new Uint8Array(await readFile(join(entry.dir, 'module.wasm')));
    return { key, routeKey: key, meta: entry.meta, bytes: transformed, tmp, cacheHit: entry.hit };
  }

  async #js(source: string, capPages: number, tmp: boolean, timer: CompileTimer): Promise<PreparedArtifact> {
    const engine = pickEngine(source, this.#o.jsEngine);
    const fnKey = transformKey(await sha256Async(new TextEncoder().encode(source)), 'js', { rewrite: REWRITE_VERSION });
    const fn = await this.#cached<JsMeta>(this.#o.cache, fnKey, timer, (dir) =>
      this.#job({ kind: 'js', source }, dir, timer),
    );
    if (fn.meta.asyncBody && engine === 'quickjs') {
      throw new StrataError(
        'invalid_code',
        'this function awaits at top level, which the quickjs engine cannot do; set wasm.jsEngine to auto or starlingmonkey',
      );
    }
    const variant = await this.engineVariant(engine, capPages, timer);
    const meta: GuestMeta = {
      kind: 'js',
      engineDir: variant.dir,
      sourceFile: join(fn.dir, 'function.js'),
      asyncBody: fn.meta.asyncBody,
      maxPages: variant.meta.maxPages,
    };
    return {
      key: transformKey(fnKey, 'js-run', { engine: variant.key }),
      routeKey: variant.key,
      meta,
      tmp,
      cacheHit: fn.hit && variant.hit,
    };
  }

  /** The engine component capped at `capPages`, building the engine first if it is not cached. */
  async engineVariant(
    engine: JsEngine,
    capPages: number,
    timer: CompileTimer,
    background = false,
  ): Promise<CacheResult<EngineVariantMeta> & { key: string }> {
    const key = transformKey(engineKey(engine), 'engine-cap', { capPages });
    const running = this.#builds.get(engine);
    // A deploy now waits for a background build: it must not run at background priority any more.
    if (running?.pid !== undefined && !background) raisePriority(running.pid);
    const entry = await this.#cached<EngineVariantMeta>(this.#o.engineCache, key, timer, async (dir) => {
      const base = await this.#engineBase(engine, timer, background);
      return (await this.#job({ kind: 'engine-cap', from: base.dir, capPages }, dir, timer)) as EngineVariantMeta;
    });
    return { ...entry, key };
  }

  #engineBase(engine: JsEngine, timer: CompileTimer, background: boolean): Promise<CacheResult<unknown>> {
    return this.#cached(this.#o.engineCache, `engine-${engine}-${engineKey(engine)}`, timer, async (dir) => {
      timer.started(
        'engine-build',
        `building the ${ENGINE_NAME[engine]} JS engine (once per engine version, several seconds)`,
      );
      const controller = new AbortController();
      const build: { pid?: number; controller: AbortController } = { controller };
      this.#builds.set(engine, build);
      try {
        await buildEngineInChild(engine, dir, {
          scratchRoot: this.#o.engineCache.root,
          timeoutMs: this.#o.engineTimeoutMs,
          onStep: (name, ms) => timer.step(name, ms),
          onSpawn: (pid) => {
            build.pid = pid;
            if (background) lowerPriority(pid);
          },
          signal: controller.signal,
        });
      } finally {
        this.#builds.delete(engine);
      }
      return { kind: 'engine-base', engine };
    });
  }

  /** Stop engine builds in flight (their child processes are killed, their scratch removed). */
  abortBuilds(): void {
    for (const build of this.#builds.values()) build.controller.abort();
  }

  async #cached<Meta>(
    cache: ArtifactCache,
    key: string,
    timer: CompileTimer,
    build: (dir: string) => Promise<unknown>,
  ): Promise<CacheResult<Meta>> {
    const started = performance.now();
    let ran = false;
    const result = await cache.getOrBuild<Meta>(key, async (dir) => {
      ran = true;
      return (await build(dir)) as Meta;
    });
    if (result.verifyMs > 1) timer.step('verify', result.verifyMs);
    if (result.waitMs > 1) timer.step('wait', result.waitMs);
    if (!result.hit) {
      timer.built = true;
      // Joined a build this process already had in flight: the time was spent waiting for it.
      if (!ran) timer.step('wait', performance.now() - started);
    }
    return result;
  }

  #job(job: CompileJob, dir: string, timer: CompileTimer): Promise<unknown> {
    return this.#o.pool.run(job, dir, (name, ms) => timer.step(name, ms));
  }
}

/** The wasm tier has no network at all (capabilities.network 'none'): a manifest asking for it is refused. */
function refuseNetwork(network: unknown): void {
  const asks =
    network === true ||
    (Array.isArray(network) && network.length > 0) ||
    (typeof network === 'object' &&
      network !== null &&
      !Array.isArray(network) &&
      Array.isArray((network as { allow?: unknown }).allow) &&
      (network as { allow: unknown[] }).allow.length > 0);
  if (asks) {
    throw new StrataError(
      'permission_denied',
      'the wasm tier gives functions no network (permissions.network); remove it, or deploy with a trust level placed in a tier that grants network',
    );
  }
}

/** sha256 of bytes on the thread pool (WebCrypto), so a large upload never blocks the event loop. */
export async function sha256Async(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Buffer.from(digest).toString('hex');
}

function lowerPriority(pid: number): void {
  try {
    setPriority(pid, 19);
  } catch {}
}

function raisePriority(pid: number): void {
  try {
    setPriority(pid, 0);
  } catch {
    // Only a privileged process may raise a priority; the build goes on at the lower one.
  }
}
