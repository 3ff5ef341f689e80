/**
 * The plugin host: finds plugins (plugins.dir and plugins.entries), orders them by their
 * dependencies, runs each in its own worker thread through the lifecycle (lifecycle.ts), and
 * offers their hooks to the executor as one PhaseHooks (src/executor/phases.ts, hook-table.ts,
 * hook-calls.ts). Executor plugins' tiers go into the executor's DriverRegistry. This file is the
 * facade: syncing with what is on disk, and the admin API.
 *
 * Reloads are atomic: a new version is loaded beside the old one and swapped in; invocations
 * that leased the old hooks keep them until their record is final; then (bounded by
 * plugins.unloadBudget) the old version's unload() runs and its thread ends.
 */
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { StrataError } from '../core/errors.ts';
import type { DriverRegistry } from '../executor/driver-registry.ts';
import type { HookLease, MonitorHook, PhaseHooks, PostHook, PreHook } from '../executor/phases.ts';
import type { AlertCenter } from './alerts.ts';
import { type Discovered, discoverPlugins } from './discovery.ts';
import { HookTable } from './hook-table.ts';
import { Lifecycle } from './lifecycle.ts';
import { readPluginManifest } from './manifest.ts';
import type { PluginMetrics } from './metrics.ts';
import { MonitorErrors, type RecordAppender } from './monitor-errors.ts';
import { loadOrder, loadWaves } from './order.ts';
import { infoOf, type PluginInfo, type Slot, upsertSlot } from './slot.ts';

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
  /** The execution store: monitor errors that come after a record was saved are appended there. */
  records?: RecordAppender;
}

export class PluginHost implements PhaseHooks {
  readonly #o: PluginHostOptions;
  readonly #slots = new Map<string, Slot>();
  readonly #table: HookTable;
  readonly #life: Lifecycle;
  readonly #stateListeners = new Set<(info: PluginInfo) => void>();
  /** Monitor hook errors on their way into the records. */
  readonly monitorErrors: MonitorErrors;
  #syncing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: PluginHostOptions) {
    this.#o = options;
    const p = options.config.plugins;
    this.monitorErrors = new MonitorErrors(options.records, (err) =>
      options.logger.warn({ err: err.message }, 'a monitor error could not be added to its stored record'),
    );
    this.#table = new HookTable(this.monitorErrors.sealHook);
    this.#life = new Lifecycle({
      logger: options.logger,
      drivers: options.drivers,
      alerts: options.alerts,
      metrics: options.metrics,
      budgets: { load: p.loadBudget, init: p.initBudget, unload: p.unloadBudget },
      breaker: { failures: p.breakerFailures, windowMs: p.breakerWindow },
      hooks: {
        metrics: options.metrics,
        monitorErrors: this.monitorErrors,
        hookBudgetMs: options.config.executor.hookBudget,
        monitorBudgetMs: p.monitorBudget,
      },
      changed: () => this.#table.rebuild(this.#slots),
      stateChanged: (slot) => {
        if (this.#stateListeners.size === 0) return;
        const info = this.#info(slot);
        for (const listen of this.#stateListeners) listen(info);
      },
    });
  }

  /** The folder scanned for plugins. */
  get dir(): string {
    return this.#o.config.plugins.dir ? resolve(this.#o.config.plugins.dir) : join(resolve(this.#o.dataDir), 'plugins');
  }

  /** Called with a plugin's info each time its state changes (loaded, failed, disabled, unloaded). */
  onState(listener: (info: PluginInfo) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  // --- PhaseHooks -------------------------------------------------------------------------

  pre(): readonly PreHook[] {
    return this.#table.pre;
  }
  post(): readonly PostHook[] {
    return this.#table.post;
  }
  monitor(): readonly MonitorHook[] {
    return this.#table.monitor;
  }
  lease(): HookLease {
    return this.#table.lease();
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
      const fingerprint = `${d.fingerprint}|${read.ok ? read.fingerprint : read.error}`;
      const { slot, changed } = upsertSlot(this.#slots, name, d, fingerprint);
      if (!read.ok) {
        const s = slot;
        if (changed) await this.#life.serial(s, () => this.#life.fail(s, read.error));
        continue;
      }
      slot.manifest = read.manifest;
      candidates.push({ slot, changed });
    }
    // Gone from disk and config: unload and forget.
    for (const [name, slot] of this.#slots) {
      if (seen.has(name)) continue;
      await this.#life.stop(slot, 'unloaded');
      this.#slots.delete(name);
      this.#o.metrics.forget(name);
    }
    const active = candidates.filter((c) => !c.slot.configDisabled && !c.slot.held);
    for (const c of candidates) {
      if (c.slot.configDisabled && c.slot.state !== 'disabled') await this.#life.stop(c.slot, 'disabled');
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
        await this.#life.serial(c.slot, () => this.#life.fail(c.slot, why));
    }
    const reloaded = new Set<string>();
    // Waves: every plugin whose dependencies are settled loads at once (threads start in parallel).
    const waves = loadWaves(
      order.filter((n) => byName.has(n)),
      (n) => Object.keys(byName.get(n)?.slot.manifest?.requires ?? {}),
    );
    for (const wave of waves)
      await Promise.all(
        wave.map((name) => this.#bring(byName.get(name) as { slot: Slot; changed: boolean }, reloaded)),
      );
  }

  /** Load, reload or refuse one plugin of a sync, once its dependencies are settled. */
  async #bring(c: { slot: Slot; changed: boolean }, reloaded: Set<string>): Promise<void> {
    const deps = Object.keys(c.slot.manifest?.requires ?? {});
    const badDep = deps.find((d) => this.#slots.get(d)?.state !== 'loaded');
    if (badDep) {
      const why = `requires ${badDep}, which is not loaded (${this.#slots.get(badDep)?.state ?? 'missing'})`;
      if (c.slot.state !== 'failed' || c.slot.error !== why)
        await this.#life.serial(c.slot, () => this.#life.fail(c.slot, why));
      return;
    }
    // A dependency that was reloaded reloads the plugins needing it, so they see its new version.
    const depReloaded = deps.some((d) => reloaded.has(d));
    if (c.changed || c.slot.state !== 'loaded' || depReloaded) {
      await this.#life.serial(c.slot, () => this.#life.start(c.slot));
      reloaded.add(c.slot.name);
    }
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
    await this.#life.stop(slot, 'disabled');
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
    await this.#life.stop(slot, 'unloaded');
    return this.#info(slot);
  }

  /** Unload everything (worker shutdown), dependents first. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#syncing;
    const names = this.#table.generations.map((g) => g.manifest.name).reverse();
    for (const name of names) {
      const slot = this.#slots.get(name);
      if (slot) await this.#life.stop(slot, 'unloaded');
    }
    for (const slot of this.#slots.values()) if (slot.current) await this.#life.stop(slot, 'unloaded');
    await this.#life.settled();
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
