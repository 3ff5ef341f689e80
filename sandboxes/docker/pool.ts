/**
 * The warm pool: resident-runner containers keyed by image + limits (+ function for untrusted
 * code, see pool-policy.ts). acquire() hands out an idle container or boots one; release() takes
 * it back, or removes it after any timeout, OOM, crash or protocol breach, and boots a
 * replacement while the key still wants its minimum. maintain() evicts idle containers and pings
 * the rest.
 */
import type Docker from 'dockerode';
import { StrataError } from '../../src/core/errors.ts';
import { admit, idleEvictions, type PoolEntryView } from './pool-policy.ts';
import { WarmContainer } from './warm-container.ts';

export interface PoolSettings {
  poolMin: number;
  poolMaxPerKey: number;
  poolMax: number;
  idleTimeoutMs: number;
  keyTtlMs: number;
  startTimeoutMs: number;
}

/**
 * How to boot one container of a key: its create options, what to do once it runs (its PID is
 * known, the runner not yet ready: open the egress listener in its namespace), and what to
 * release after it is removed (its scratch disk, the egress proxy).
 */
export interface BootPlan {
  spec: Docker.ContainerCreateOptions;
  /** Block devices whose I/O counts as the container's (major:minor); all when left out. */
  countDevices?: readonly string[];
  started?: (c: WarmContainer) => Promise<void>;
  release?: () => Promise<void>;
}

export type SpecFactory = (name: string) => Promise<BootPlan>;

/** What acquire() hands out: the container, and whether it was booted for this caller (a cold start). */
export interface Acquired {
  container: WarmContainer;
  booted: boolean;
}

export interface PoolEvents {
  /** A container was booted (cold start inside the pool). */
  onBoot?: (ms: number) => void;
  onError?: (message: string, error: unknown) => void;
}

export class WarmPool {
  readonly #docker: Docker;
  readonly #settings: PoolSettings;
  readonly #newName: () => string;
  readonly #maxFrameBytes: number;
  readonly #events: PoolEvents;
  readonly #entries = new Map<string, WarmContainer>();
  readonly #removals = new Set<Promise<void>>();
  readonly #specs = new Map<string, SpecFactory>();
  readonly #keyLastUsed = new Map<string, number>();
  #waiters: Array<() => void> = [];
  #closed = false;
  boots = 0;
  bootFailures = 0;
  replaced = 0;
  /** Output bytes dropped because they came after their invocation had ended. */
  lateLogBytes = 0;
  /** Containers destroyed for breaking the host protocol. */
  protocolViolations = 0;

  constructor(
    docker: Docker,
    settings: PoolSettings,
    newName: () => string,
    maxFrameBytes: number,
    events: PoolEvents = {},
  ) {
    this.#docker = docker;
    this.#settings = settings;
    this.#newName = newName;
    this.#maxFrameBytes = maxFrameBytes;
    this.#events = events;
  }

  #views(): PoolEntryView[] {
    return [...this.#entries.values()].map((c) => ({
      id: c.name,
      key: c.key,
      state: c.state,
      lastUsedAt: c.lastUsedAt,
    }));
  }

  /** Names of every container the pool holds (the reaper leaves these alone). */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  stats(): {
    containers: number;
    idle: number;
    busy: number;
    starting: number;
    keys: number;
    boots: number;
    replaced: number;
    lateLogBytes: number;
    protocolViolations: number;
  } {
    const list = [...this.#entries.values()];
    return {
      containers: list.length,
      idle: list.filter((c) => c.state === 'idle').length,
      busy: list.filter((c) => c.state === 'busy').length,
      starting: list.filter((c) => c.state === 'starting').length,
      keys: new Set(list.map((c) => c.key)).size,
      boots: this.boots,
      replaced: this.replaced,
      lateLogBytes: this.lateLogBytes,
      protocolViolations: this.protocolViolations,
    };
  }

  /** An idle container for `key`, booting one when allowed; waits (abortably) when the key is full. */
  async acquire(key: string, specFor: SpecFactory, signal: AbortSignal): Promise<Acquired> {
    this.#specs.set(key, specFor);
    this.#keyLastUsed.set(key, Date.now());
    for (;;) {
      if (this.#closed) throw new StrataError('shutting_down', 'the docker tier is shutting down');
      signal.throwIfAborted();
      const decision = admit(this.#views(), key, {
        maxPerKey: this.#settings.poolMaxPerKey,
        maxTotal: this.#settings.poolMax,
      });
      if (decision.action === 'reuse') {
        const c = this.#entries.get(decision.id) as WarmContainer;
        c.state = 'busy';
        return { container: c, booted: false };
      }
      if (decision.action === 'evict-then-create') {
        const victim = this.#entries.get(decision.evictId);
        if (victim) await this.#discard(victim, false);
      }
      if (decision.action === 'create' || decision.action === 'evict-then-create') {
        const c = await this.#boot(key, specFor);
        c.state = 'busy';
        return { container: c, booted: true };
      }
      await this.#waitForChange(signal);
    }
  }

  async #boot(key: string, specFor: SpecFactory): Promise<WarmContainer> {
    const name = this.#newName();
    const c = new WarmContainer(this.#docker, key, name, this.#maxFrameBytes);
    // An idle container that dies (or breaks the protocol) leaves the pool at once; a busy one
    // is released by its invocation, a starting one by the boot that fails.
    c.onDead = (dead, was) => {
      if (was === 'idle' && this.#entries.get(dead.name) === dead) void this.#discard(dead, true);
    };
    this.#entries.set(name, c);
    const started = Date.now();
    try {
      await c.boot(() => specFor(name), this.#settings.startTimeoutMs);
      this.boots++;
      this.#events.onBoot?.(Date.now() - started);
      return c;
    } catch (error) {
      this.bootFailures++;
      this.#entries.delete(name);
      await this.#removal(c.destroy('boot failed')).catch(() => {});
      this.#wake();
      throw error;
    }
  }

  #waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#waiters.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Give a container back: idle again when healthy, else removed (and replaced when wanted). */
  async release(c: WarmContainer, healthy: boolean): Promise<void> {
    if (healthy && c.state === 'busy' && !this.#closed) {
      c.state = 'idle';
      c.lastUsedAt = Date.now();
      this.#wake();
      return;
    }
    await this.#discard(c, true);
  }

  async #discard(c: WarmContainer, replace: boolean): Promise<void> {
    this.#entries.delete(c.name);
    this.#wake();
    try {
      await this.#removal(c.destroy());
    } catch (error) {
      this.#events.onError?.('removing a warm container failed (the reaper will retry)', error);
    }
    if (replace) {
      this.replaced++;
      this.#replenish(c.key);
    }
  }

  /** Boot containers in the background until the key has its minimum (while the key is in use). */
  #replenish(key: string): void {
    if (this.#closed) return;
    const specFor = this.#specs.get(key);
    const last = this.#keyLastUsed.get(key) ?? 0;
    if (!specFor || Date.now() - last >= this.#settings.keyTtlMs) return;
    const live = [...this.#entries.values()].filter((c) => c.key === key && c.state !== 'dead').length;
    const total = [...this.#entries.values()].filter((c) => c.state !== 'dead').length;
    if (live >= this.#settings.poolMin || total >= this.#settings.poolMax) return;
    this.#boot(key, specFor).then(
      (c) => {
        c.state = 'idle';
        c.lastUsedAt = Date.now();
        this.#wake();
      },
      (error: unknown) => this.#events.onError?.('booting a replacement warm container failed', error),
    );
  }

  /** Idle eviction and health checks; dead idle containers are dropped. */
  async maintain(pingTimeoutMs = 2000): Promise<void> {
    const now = Date.now();
    const evict = idleEvictions(this.#views(), {
      now,
      idleTimeoutMs: this.#settings.idleTimeoutMs,
      keyTtlMs: this.#settings.keyTtlMs,
      minPerKey: this.#settings.poolMin,
      keyLastUsed: this.#keyLastUsed,
    });
    for (const name of evict) {
      const c = this.#entries.get(name);
      if (c) await this.#discard(c, false);
    }
    for (const [key, last] of this.#keyLastUsed) {
      if (now - last >= this.#settings.keyTtlMs) {
        this.#keyLastUsed.delete(key);
        this.#specs.delete(key);
      }
    }
    const idle = [...this.#entries.values()].filter((c) => c.state === 'idle' || c.state === 'dead');
    await Promise.all(
      idle.map(async (c) => {
        if (c.state === 'dead') return this.#discard(c, true);
        c.state = 'busy';
        const ok = await c.ping(pingTimeoutMs);
        if (ok && c.state === 'busy') c.state = 'idle';
        else await this.#discard(c, true);
        this.#wake();
      }),
    );
  }

  /** Boot the minimum for every key in use (after the daemon came back, for example). */
  replenishAll(): void {
    for (const key of this.#specs.keys()) this.#replenish(key);
  }

  /** A removal in flight, so close() waits for it (a container out of #entries may still exist). */
  #removal(done: Promise<void>): Promise<void> {
    this.#removals.add(done);
    const forget = () => this.#removals.delete(done);
    done.then(forget, forget);
    return done;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#entries.values()];
    this.#entries.clear();
    this.#wake();
    await Promise.all(all.map((c) => c.destroy('shutdown').catch(() => {})));
    await Promise.all([...this.#removals].map((p) => p.catch(() => {})));
  }
}
