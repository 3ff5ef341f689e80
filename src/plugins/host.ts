/**
 * The plugin host: finds plugins (plugins.dir and plugins.entries), orders them by their
 * dependencies, runs each in its own worker thread through the lifecycle load -> init -> hooks ->
 * unload (each step with a budget), and offers their hooks to the executor as one PhaseHooks
 * (src/executor/phases.ts). Executor plugins' tiers go into the executor's DriverRegistry.
 *
 * Reloads are atomic: a new version is loaded beside the old one and swapped in; invocations
 * that leased the old hooks keep them until their record is final; then (bounded by
 * plugins.unloadBudget) the old version's unload() runs and its thread ends.
 */
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { SandboxDriver } from '../core/driver.ts';
import { StrataError } from '../core/errors.ts';
import type { ExecutionRecord } from '../core/execution.ts';
import type { DriverRegistry } from '../executor/driver-registry.ts';
import type {
  HookLease,
  InvocationView,
  MonitorEvent,
  MonitorHook,
  PhaseHooks,
  PostHook,
  PreHook,
} from '../executor/phases.ts';
import type { AlertCenter } from './alerts.ts';
import { type Discovered, discoverPlugins } from './discovery.ts';
import { readPluginManifest } from './manifest.ts';
import type { PluginMetrics, PluginState } from './metrics.ts';
import { loadOrder } from './order.ts';
import { PluginDriver } from './plugin-driver.ts';
import { type Generation, infoOf, kindProblems, type PluginInfo, type Slot } from './slot.ts';
import { PluginCallError, PluginThread } from './thread.ts';

export interface PluginHostOptions {
  config: Config;
  dataDir: string;
  hostVersion: string;
  logger: Logger;
  drivers: DriverRegistry;
  alerts: AlertCenter;
  metrics: PluginMetrics;
  /** Re-reads plugins.entries (the config file may change while the worker runs). */
  readEntries?: () => Config['plugins']['entries'];
}

export class PluginHost implements PhaseHooks {
  readonly #o: PluginHostOptions;
  readonly #slots = new Map<string, Slot>();
  readonly #budgets: { load: number; init: number; unload: number; hook: number; monitor: number };
  #generation = 0;
  /** The hook lists, rebuilt whenever a generation comes or goes (cheap to read per invocation). */
  #hooks: { pre: PreHook[]; post: PostHook[]; monitor: MonitorHook[]; gens: Generation[] } = {
    pre: [],
    post: [],
    monitor: [],
    gens: [],
  };
  #syncing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Old versions waiting for their invocations before they unload. */
  readonly #retiring = new Set<Promise<void>>();

  constructor(options: PluginHostOptions) {
    this.#o = options;
    const p = options.config.plugins;
    this.#budgets = {
      load: p.loadBudget,
      init: p.initBudget,
      unload: p.unloadBudget,
      hook: options.config.executor.hookBudget,
      monitor: p.monitorBudget,
    };
  }

  /** The folder scanned for plugins. */
  get dir(): string {
    return this.#o.config.plugins.dir ? resolve(this.#o.config.plugins.dir) : join(resolve(this.#o.dataDir), 'plugins');
  }

  // --- PhaseHooks -------------------------------------------------------------------------

  pre(): readonly PreHook[] {
    return this.#hooks.pre;
  }
  post(): readonly PostHook[] {
    return this.#hooks.post;
  }
  monitor(): readonly MonitorHook[] {
    return this.#hooks.monitor;
  }
  lease(): HookLease {
    const { pre, post, monitor, gens } = this.#hooks;
    for (const g of gens) g.leases++;
    return {
      pre,
      post,
      monitor,
      release: () => {
        for (const g of gens) {
          g.leases--;
          if (g.leases === 0) g.onLeasesGone?.();
        }
      },
    };
  }

  // --- discovery and sync -----------------------------------------------------------------

  /**
   * Bring the loaded plugins in line with the folder and the config entries: load what is new
   * or changed (in dependency order), unload what is gone. Safe to call at any time; calls queue.
   */
  sync(): Promise<void> {
    const run = this.#syncing.then(() => this.#sync());
    this.#syncing = run.catch((err: Error) => this.#o.logger.error({ err: err.message }, 'plugin sync failed'));
    return run;
  }

  /** A cheap description of what is on disk and in the config now, for the watcher. */
  fingerprint(): string {
    return this.#discover()
      .map((d) => {
        const read = readPluginManifest(d.folder);
        return `${d.folder}|${d.fingerprint}|${read.ok ? read.fingerprint : read.error}`;
      })
      .join('\n');
  }

  #discover(): Discovered[] {
    let entries: Config['plugins']['entries'];
    try {
      entries = this.#o.readEntries?.() ?? this.#o.config.plugins.entries;
    } catch (err) {
      this.#o.logger.warn(
        { err: (err as Error).message },
        'the config file cannot be read; plugin entries kept as they were',
      );
      entries = this.#o.config.plugins.entries;
    }
    return discoverPlugins(this.dir, entries);
  }

  async #sync(): Promise<void> {
    if (this.#closed) return;
    const discovered = this.#discover();
    const seen = new Set<string>();
    const candidates: { slot: Slot; changed: boolean }[] = [];
    for (const d of discovered) {
      const read = readPluginManifest(d.folder);
      const name = read.ok ? read.manifest.name : (read.name ?? `(${d.folder})`);
      if (seen.has(name)) {
        this.#o.logger.warn(
          { folder: d.folder, name },
          'two plugin folders declare the same name; the second is ignored',
        );
        continue;
      }
      seen.add(name);
      let slot = this.#slots.get(name);
      const fingerprint = `${d.fingerprint}|${read.ok ? read.fingerprint : read.error}`;
      const changed = !slot || slot.fingerprint !== fingerprint || slot.folder !== d.folder;
      if (!slot) {
        slot = {
          name,
          folder: d.folder,
          source: d.source,
          overrides: d.overrides,
          fingerprint,
          state: 'unloaded',
          configDisabled: !d.enabled,
          failures: [],
          busy: Promise.resolve(),
        };
        this.#slots.set(name, slot);
      }
      slot.folder = d.folder;
      slot.source = d.source;
      slot.overrides = d.overrides;
      slot.fingerprint = fingerprint;
      slot.configDisabled = !d.enabled;
      if (!read.ok) {
        const s = slot;
        if (changed) await this.#serial(s, () => this.#fail(s, read.error));
        continue;
      }
      slot.manifest = read.manifest;
      candidates.push({ slot, changed });
    }
    // Gone from disk and config: unload and forget.
    for (const [name, slot] of this.#slots) {
      if (seen.has(name)) continue;
      await this.#stop(slot, 'unloaded');
      this.#slots.delete(name);
      this.#o.metrics.forget(name);
    }
    const active = candidates.filter((c) => !c.slot.configDisabled && !c.slot.held);
    for (const c of candidates) {
      if (c.slot.configDisabled && c.slot.state !== 'disabled') await this.#stop(c.slot, 'disabled');
    }
    const { order, refused } = loadOrder(
      active.map(({ slot }) => ({
        name: slot.name,
        version: slot.manifest?.version ?? '0.0.0',
        requires: slot.manifest?.requires ?? {},
        strata: slot.manifest?.strata ?? '*',
      })),
      this.#o.hostVersion,
    );
    const byName = new Map(active.map((c) => [c.slot.name, c]));
    for (const [name, why] of refused) {
      const c = byName.get(name);
      if (c && (c.changed || c.slot.state !== 'failed' || c.slot.error !== why))
        await this.#serial(c.slot, () => this.#fail(c.slot, why));
    }
    const reloaded = new Set<string>();
    // Waves: every plugin whose dependencies are settled loads at once (threads start in parallel).
    const settled = new Set<string>();
    let left = order.filter((n) => byName.has(n));
    while (left.length > 0) {
      const wave = left.filter((n) =>
        Object.keys(byName.get(n)?.slot.manifest?.requires ?? {}).every((d) => settled.has(d) || !byName.has(d)),
      );
      const step = wave.length > 0 ? wave : left.slice(0, 1);
      await Promise.all(
        step.map((name) => this.#bring(byName.get(name) as { slot: Slot; changed: boolean }, reloaded)),
      );
      for (const n of step) settled.add(n);
      left = left.filter((n) => !step.includes(n));
    }
  }

  /** Load, reload or refuse one plugin of a sync, once its dependencies are settled. */
  async #bring(c: { slot: Slot; changed: boolean }, reloaded: Set<string>): Promise<void> {
    const deps = Object.keys(c.slot.manifest?.requires ?? {});
    const badDep = deps.find((d) => this.#slots.get(d)?.state !== 'loaded');
    if (badDep) {
      const why = `requires ${badDep}, which is not loaded (${this.#slots.get(badDep)?.state ?? 'missing'})`;
      if (c.slot.state !== 'failed' || c.slot.error !== why) await this.#serial(c.slot, () => this.#fail(c.slot, why));
      return;
    }
    // A dependency that was reloaded reloads the plugins needing it, so they see its new version.
    const depReloaded = deps.some((d) => reloaded.has(d));
    if (c.changed || c.slot.state !== 'loaded' || depReloaded) {
      await this.#serial(c.slot, () => this.#start(c.slot));
      reloaded.add(c.slot.name);
    }
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Load (or reload) a slot's current manifest as a new generation and swap it in. */
  async #start(slot: Slot): Promise<void> {
    const manifest = slot.manifest;
    if (!manifest) return;
    const mainPath = resolve(slot.folder, manifest.main);
    const config = { ...manifest.config, ...slot.overrides };
    const id = ++this.#generation;
    let gen: Generation | undefined;
    const thread = new PluginThread({
      name: manifest.name,
      main: mainPath,
      config,
      events: {
        log: (level, msg, data) => this.#o.logger[level]({ plugin: manifest.name, ...(data ?? {}) }, msg),
        metric: (m) => this.#o.metrics.own(manifest.name, m),
        alert: (message, details) => this.#o.alerts.raise('warning', `plugin:${manifest.name}`, message, details ?? {}),
        runLog: (runId, text) => gen?.driver?.onRunLog(runId, text),
        runStart: (runId) => gen?.driver?.onRunStart(runId),
        health: (health) => gen?.driver?.setHealth(health),
        exit: (why) => {
          if (gen && !gen.retired && slot.current === gen) void this.#crashed(slot, gen, why);
        },
      },
    });
    try {
      const ready = await thread.ready(this.#budgets.load);
      const missing = kindProblems(manifest, ready);
      if (missing) throw new PluginCallError('threw', missing);
      await thread.call('init', [], this.#budgets.init).catch((err: Error) => {
        throw new PluginCallError('threw', `init() failed: ${err.message}`);
      });
      // One round trip before serving, so the first hook call does not pay the thread's warm-up.
      await thread.call('ping', [], this.#budgets.init);
      gen = { id, manifest, thread, ready, leases: 0, retired: false };
      this.#makeHooks(slot, gen);
      if (gen.driver) {
        await gen.driver.start();
        this.#o.drivers.add(gen.driver as SandboxDriver);
      }
    } catch (err) {
      await thread.terminate();
      const message = err instanceof PluginCallError || err instanceof StrataError ? err.message : String(err);
      // A reload that fails keeps the version that was serving.
      if (slot.current) {
        slot.lastError = `reload to ${manifest.version} failed: ${message}`;
        this.#o.alerts.raise(
          'warning',
          `plugin:${slot.name}`,
          `plugin ${slot.name} could not reload to ${manifest.version}; ${slot.current.manifest.version} keeps serving: ${message}`,
        );
        return;
      }
      await this.#fail(slot, message);
      return;
    }
    const old = slot.current;
    slot.current = gen;
    slot.state = 'loaded';
    slot.error = undefined;
    slot.loadedAt = new Date().toISOString();
    this.#o.metrics.state(slot.name, 'loaded');
    this.#rebuild();
    this.#o.logger.info(
      { plugin: slot.name, version: manifest.version, kinds: manifest.kinds },
      old ? 'plugin reloaded' : 'plugin loaded',
    );
    // The old version goes in the background: a reload answers at once, invocations holding the
    // old hooks finish with them, then (bounded) its unload() runs.
    if (old) this.#background(this.#retire(old));
  }

  #background(work: Promise<void>): void {
    this.#retiring.add(work);
    void work
      .catch((err: Error) => this.#o.logger.warn({ err: err.message }, 'retiring a plugin version failed'))
      .finally(() => this.#retiring.delete(work));
  }

  #makeHooks(slot: Slot, gen: Generation): void {
    const name = slot.name;
    const kinds = gen.manifest.kinds;
    if (kinds.includes('pre') && gen.ready.has.pre)
      gen.pre = {
        name,
        pre: (view: InvocationView) => this.#call(slot, gen, 'pre', view, this.#budgets.hook + 5) as never,
      };
    if (kinds.includes('post') && gen.ready.has.post)
      gen.post = {
        name,
        post: (record: ExecutionRecord) => this.#call(slot, gen, 'post', record, this.#budgets.hook + 5) as never,
      };
    if (kinds.includes('monitor') && gen.ready.has.onEvent)
      gen.monitor = {
        name,
        onEvent: (event: MonitorEvent) => {
          this.#call(slot, gen, 'event', event, this.#budgets.monitor).catch(() => {});
        },
      };
    if (kinds.includes('executor') && gen.ready.driver)
      gen.driver = new PluginDriver({
        plugin: name,
        info: gen.ready.driver,
        thread: gen.thread,
        budgetMs: this.#budgets.load,
        onFailure: (why) => this.#failure(slot, gen, 'executor', why),
      });
  }

  /** One hook call: counted, timed, and a failure noted (breaker; a spinning thread is stopped). */
  async #call(
    slot: Slot,
    gen: Generation,
    op: 'pre' | 'post' | 'event',
    arg: unknown,
    budget: number,
  ): Promise<unknown> {
    const kind = op === 'event' ? 'monitor' : op;
    if (gen.retired && gen.thread.dead) throw new Error(`plugin ${slot.name} ${gen.manifest.version} was unloaded`);
    const started = performance.now();
    let outcome = 'ok';
    try {
      const value = await gen.thread.call(op, [arg], budget);
      if (op === 'pre' && value && typeof value === 'object' && 'reject' in value) outcome = 'rejected';
      return value;
    } catch (err) {
      const why = err instanceof PluginCallError ? err.why : 'threw';
      outcome = why === 'overran' ? 'timeout' : 'error';
      // A version already retired (reloaded away) that misses a late call is not failing.
      if (gen.retired) throw err;
      this.#failure(
        slot,
        gen,
        kind,
        `${kind} hook ${why === 'overran' ? 'overran its budget' : `failed: ${(err as Error).message}`}`,
      );
      if (why === 'overran') void this.#checkSpin(slot, gen);
      throw err;
    } finally {
      this.#o.metrics.hookCall(slot.name, kind, outcome, (performance.now() - started) / 1000);
    }
  }

  /** After an overrun: a thread whose event loop does not answer is spinning; stop it and start afresh. */
  async #checkSpin(slot: Slot, gen: Generation): Promise<void> {
    if (gen.thread.dead || (await gen.thread.alive(1000))) return;
    if (gen.thread.dead) return;
    this.#o.logger.warn({ plugin: slot.name }, 'a plugin hook spins in synchronous code; its thread is stopped');
    await gen.thread.terminate();
    // The overrun was already counted: one spin is one failure.
    await this.#crashed(slot, gen, 'a hook spun in synchronous code and its thread was stopped', false);
  }

  /** The serving generation's thread is gone: start the same version again unless the breaker tripped. */
  async #crashed(slot: Slot, gen: Generation, why: string, count = true): Promise<void> {
    if (count) this.#failure(slot, gen, 'thread', why);
    else this.#o.logger.warn({ plugin: slot.name }, why);
    await this.#serial(slot, async () => {
      if (slot.current !== gen || slot.held) return;
      gen.retired = true;
      slot.current = undefined;
      if (gen.driver) {
        this.#o.drivers.remove(gen.driver.tier);
        await gen.driver.dispose();
      }
      this.#rebuild();
      await this.#start(slot);
    });
  }

  #failure(slot: Slot, gen: Generation, kind: string, message: string): void {
    const now = Date.now();
    const window = this.#o.config.plugins.breakerWindow;
    slot.failures = slot.failures.filter((t) => now - t < window);
    slot.failures.push(now);
    slot.lastError = message;
    this.#o.logger.warn({ plugin: slot.name, kind, failures: slot.failures.length }, message);
    if (slot.failures.length >= this.#o.config.plugins.breakerFailures && !slot.held) {
      const text = `plugin ${slot.name} was disabled after ${slot.failures.length} failures within ${Math.round(window / 1000)} s (last: ${message}); enable it again with POST /v1/plugins/${slot.name}/enable`;
      slot.held = 'disabled';
      slot.error = text;
      this.#o.alerts.raise('critical', `plugin:${slot.name}`, text, {
        plugin: slot.name,
        failures: slot.failures.length,
        lastError: message,
      });
      void this.#serial(slot, () => this.#stopNow(slot, 'disabled'));
    }
  }

  /** Take the generation out of service: wait (bounded) for its leases and calls, unload, end its thread. */
  async #retire(gen: Generation): Promise<void> {
    gen.retired = true;
    if (gen.driver) this.#o.drivers.remove(gen.driver.tier);
    this.#rebuild();
    const budget = this.#budgets.unload;
    if (gen.leases > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, budget);
        gen.onLeasesGone = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await gen.thread.idle(budget);
    if (!gen.thread.dead) {
      await gen.thread
        .call('unload', [], budget)
        .catch((err: Error) =>
          this.#o.logger.warn({ plugin: gen.manifest.name, err: err.message }, 'plugin unload() failed'),
        );
    }
    await gen.driver?.dispose();
    await gen.thread.terminate();
  }

  async #stopNow(slot: Slot, state: PluginState): Promise<void> {
    const gen = slot.current;
    slot.current = undefined;
    slot.state = state;
    if (state !== 'disabled') slot.loadedAt = undefined;
    this.#o.metrics.state(slot.name, state);
    if (gen) await this.#retire(gen);
    if (state === 'unloaded' || state === 'disabled') this.#o.metrics.dropOwn(slot.name);
  }

  #stop(slot: Slot, state: PluginState): Promise<void> {
    return this.#serial(slot, () => this.#stopNow(slot, state));
  }

  async #fail(slot: Slot, error: string): Promise<void> {
    const wasFailing = slot.state === 'failed' && slot.error === error;
    await this.#stopNow(slot, 'failed');
    slot.error = error;
    if (!wasFailing)
      this.#o.alerts.raise('warning', `plugin:${slot.name}`, `plugin ${slot.name} failed to load: ${error}`, {
        plugin: slot.name,
      });
  }

  #serial(slot: Slot, step: () => Promise<void>): Promise<void> {
    const run = slot.busy.then(step);
    slot.busy = run.catch(() => {});
    return run;
  }

  #rebuild(): void {
    const gens: Generation[] = [];
    // Hook order is load order: dependencies' hooks run before their dependents'.
    const names = [...this.#slots.values()].filter((s) => s.current).map((s) => s.name);
    const order = loadOrder(
      names.map((n) => {
        const m = this.#slots.get(n)?.manifest;
        return { name: n, version: m?.version ?? '0.0.0', requires: m?.requires ?? {}, strata: '*' };
      }),
      '0.0.0',
    ).order;
    for (const name of [...order, ...names.filter((n) => !order.includes(n))]) {
      const g = this.#slots.get(name)?.current;
      if (g && !gens.includes(g)) gens.push(g);
    }
    this.#hooks = {
      pre: gens.flatMap((g) => (g.pre ? [g.pre] : [])),
      post: gens.flatMap((g) => (g.post ? [g.post] : [])),
      monitor: gens.flatMap((g) => (g.monitor ? [g.monitor] : [])),
      gens,
    };
  }

  // --- the admin API -------------------------------------------------------------------------

  list(): PluginInfo[] {
    return [...this.#slots.values()].sort((a, b) => a.name.localeCompare(b.name)).map((s) => this.#info(s));
  }

  get(name: string): PluginInfo {
    return this.#info(this.#slotOrThrow(name));
  }

  async reload(name: string): Promise<PluginInfo> {
    const slot = this.#slotOrThrow(name);
    slot.held = undefined;
    slot.fingerprint = '';
    await this.sync();
    return this.#info(slot);
  }

  async disable(name: string): Promise<PluginInfo> {
    const slot = this.#slotOrThrow(name);
    this.#refuseIfRequired(slot, 'disable');
    slot.held = 'disabled';
    await this.#stop(slot, 'disabled');
    return this.#info(slot);
  }

  async enable(name: string): Promise<PluginInfo> {
    const slot = this.#slotOrThrow(name);
    slot.held = undefined;
    slot.failures = [];
    await this.sync();
    return this.#info(slot);
  }

  async unload(name: string): Promise<PluginInfo> {
    const slot = this.#slotOrThrow(name);
    this.#refuseIfRequired(slot, 'unload');
    slot.held = 'unloaded';
    await this.#stop(slot, 'unloaded');
    return this.#info(slot);
  }

  /** Unload everything (worker shutdown), dependents first. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#syncing;
    const names = this.#hooks.gens.map((g) => g.manifest.name).reverse();
    for (const name of names) {
      const slot = this.#slots.get(name);
      if (slot) await this.#stop(slot, 'unloaded');
    }
    for (const slot of this.#slots.values()) if (slot.current) await this.#stop(slot, 'unloaded');
    await Promise.all([...this.#retiring]);
  }

  #refuseIfRequired(slot: Slot, what: string): void {
    const needing = [...this.#slots.values()]
      .filter((s) => s.state === 'loaded' && s.name !== slot.name && s.manifest && slot.name in s.manifest.requires)
      .map((s) => s.name);
    if (needing.length > 0)
      throw new StrataError(
        'conflict',
        `cannot ${what} ${slot.name}: ${needing.join(', ')} require${needing.length === 1 ? 's' : ''} it; ${what} ${needing.length === 1 ? 'it' : 'them'} first`,
        { requiredBy: needing },
      );
  }

  #slotOrThrow(name: string): Slot {
    const slot = this.#slots.get(name);
    if (!slot) throw new StrataError('not_found', `no plugin named ${name}; GET /v1/plugins lists them`);
    return slot;
  }

  #info(s: Slot): PluginInfo {
    return infoOf(s, this.#o.config.plugins.breakerWindow);
  }
}
