/**
 * One plugin's life, as a state machine over its slot (docs/plugins.md has the diagram):
 *
 *   unloaded -> load (thread, import, factory) -> init -> loaded -> unload -> unloaded
 *                  \ fails: failed                  loaded -> breaker trips / disable -> disabled
 *
 * Each step has a budget (plugins.loadBudget, initBudget, unloadBudget). A reload starts the new
 * version beside the old one and swaps it in; the old version retires in the background once
 * its leases are given back (bounded). A serving thread that dies, or spins and is stopped,
 * starts afresh unless the breaker tripped. Steps of one slot are serialised.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { SandboxDriver } from '../core/driver.ts';
import { StrataError } from '../core/errors.ts';
import type { DriverRegistry } from '../executor/driver-registry.ts';
import type { AlertCenter } from './alerts.ts';
import { type BreakerSettings, noteFailure } from './breaker.ts';
import { attachHooks, type HookCallsOptions } from './hook-calls.ts';
import type { PluginMetrics, PluginState } from './metrics.ts';
import { PluginDriver } from './plugin-driver.ts';
import { type Generation, kindProblems, type Slot } from './slot.ts';
import { PluginCallError, PluginThread } from './thread.ts';

export interface Budgets {
  load: number;
  init: number;
  unload: number;
}

export interface LifecycleOptions {
  logger: Logger;
  drivers: DriverRegistry;
  alerts: AlertCenter;
  metrics: PluginMetrics;
  budgets: Budgets;
  breaker: BreakerSettings;
  hooks: Omit<HookCallsOptions, 'onFailure' | 'onOverrun'>;
  /** The serving generations changed: rebuild the hook lists. */
  changed(): void;
  /** A slot's state changed (PluginHost.onState listeners). */
  stateChanged(slot: Slot): void;
}

export class Lifecycle {
  readonly #o: LifecycleOptions;
  #generation = 0;
  /** Old versions waiting for their invocations before they unload. */
  readonly #retiring = new Set<Promise<void>>();

  constructor(options: LifecycleOptions) {
    this.#o = options;
  }

  /** Run `step` after the slot's earlier steps (one lifecycle step of a plugin at a time). */
  serial(slot: Slot, step: () => Promise<void>): Promise<void> {
    const run = slot.busy.then(step);
    slot.busy = run.catch(() => {});
    return run;
  }

  /** Load (or reload) a slot's current manifest as a new generation and swap it in. */
  async start(slot: Slot): Promise<void> {
    const manifest = slot.manifest;
    if (!manifest) return;
    const { logger, alerts, metrics, budgets } = this.#o;
    const id = ++this.#generation;
    let gen: Generation | undefined;
    const thread = new PluginThread({
      name: manifest.name,
      main: resolve(slot.folder, manifest.main),
      config: { ...manifest.config, ...slot.overrides },
      events: {
        log: (level, msg, data) => logger[level]({ plugin: manifest.name, ...(data ?? {}) }, msg),
        metric: (m) => metrics.own(manifest.name, m),
        alert: (message, details) => alerts.raise('warning', `plugin:${manifest.name}`, message, details ?? {}),
        runLog: (runId, text) => gen?.driver?.onRunLog(runId, text),
        runStart: (runId) => gen?.driver?.onRunStart(runId),
        health: (health) => gen?.driver?.setHealth(health),
        exit: (why) => {
          if (gen && !gen.retired && slot.current === gen) void this.#crashed(slot, gen, why);
        },
      },
    });
    try {
      const ready = await thread.ready(budgets.load);
      const missing = kindProblems(manifest, ready);
      if (missing) throw new PluginCallError('threw', missing);
      await thread.call('init', [], budgets.init).catch((err: Error) => {
        throw new PluginCallError('threw', `init() failed: ${err.message}`);
      });
      // One round trip before serving, so the first hook call does not pay the thread's warm-up.
      await thread.call('ping', [], budgets.init);
      gen = { id, manifest, thread, ready, leases: 0, retired: false };
      this.#attach(slot, gen);
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
        alerts.raise(
          'warning',
          `plugin:${slot.name}`,
          `plugin ${slot.name} could not reload to ${manifest.version}; ${slot.current.manifest.version} keeps serving: ${message}`,
        );
        return;
      }
      await this.fail(slot, message);
      return;
    }
    const old = slot.current;
    slot.current = gen;
    slot.error = undefined;
    slot.loadedAt = new Date().toISOString();
    this.#o.changed();
    this.#setState(slot, 'loaded');
    logger.info(
      { plugin: slot.name, version: manifest.version, kinds: manifest.kinds },
      old ? 'plugin reloaded' : 'plugin loaded',
    );
    // The old version goes in the background: a reload answers at once, invocations holding the
    // old hooks finish with them, then (bounded) its unload() runs.
    if (old) this.#background(this.#retire(old));
  }

  /** Take the slot out of service now (inside a serial step). */
  async stopNow(slot: Slot, state: PluginState): Promise<void> {
    const gen = slot.current;
    slot.current = undefined;
    if (state !== 'disabled') slot.loadedAt = undefined;
    this.#setState(slot, state);
    if (gen) await this.#retire(gen);
    if (state === 'unloaded' || state === 'disabled') this.#o.metrics.dropOwn(slot.name);
  }

  stop(slot: Slot, state: PluginState): Promise<void> {
    return this.serial(slot, () => this.stopNow(slot, state));
  }

  /** The slot cannot load: `failed`, with an alert the first time for this error. */
  async fail(slot: Slot, error: string): Promise<void> {
    const wasFailing = slot.state === 'failed' && slot.error === error;
    slot.error = error;
    await this.stopNow(slot, 'failed');
    if (!wasFailing)
      this.#o.alerts.raise('warning', `plugin:${slot.name}`, `plugin ${slot.name} failed to load: ${error}`, {
        plugin: slot.name,
      });
  }

  /** A hook, the thread or the tier failed: counted; the breaker may disable the plugin. */
  failure(slot: Slot, kind: string, message: string): void {
    const tripped = noteFailure(slot, message, this.#o.breaker);
    this.#o.logger.warn({ plugin: slot.name, kind, failures: slot.failures.length }, message);
    if (!tripped) return;
    slot.held = 'disabled';
    slot.error = tripped;
    this.#o.alerts.raise('critical', `plugin:${slot.name}`, tripped, {
      plugin: slot.name,
      failures: slot.failures.length,
      lastError: message,
    });
    void this.serial(slot, () => this.stopNow(slot, 'disabled'));
  }

  /** Resolves when every retiring version has unloaded (shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#retiring]);
  }

  #setState(slot: Slot, state: PluginState): void {
    slot.state = state;
    this.#o.metrics.state(slot.name, state);
    this.#o.stateChanged(slot);
  }

  #attach(slot: Slot, gen: Generation): void {
    attachHooks(slot, gen, {
      ...this.#o.hooks,
      onFailure: (s, kind, message) => this.failure(s, kind, message),
      onOverrun: (s, g) => void this.#checkSpin(s, g),
    });
    if (gen.manifest.kinds.includes('executor') && gen.ready.driver)
      gen.driver = new PluginDriver({
        plugin: slot.name,
        info: gen.ready.driver,
        thread: gen.thread,
        budgetMs: this.#o.budgets.load,
        onFailure: (why) => this.failure(slot, 'executor', why),
      });
  }

  #background(work: Promise<void>): void {
    this.#retiring.add(work);
    void work
      .catch((err: Error) => this.#o.logger.warn({ err: err.message }, 'retiring a plugin version failed'))
      .finally(() => this.#retiring.delete(work));
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
    if (count) this.failure(slot, 'thread', why);
    else this.#o.logger.warn({ plugin: slot.name }, why);
    await this.serial(slot, async () => {
      if (slot.current !== gen || slot.held) return;
      gen.retired = true;
      slot.current = undefined;
      if (gen.driver) {
        this.#o.drivers.remove(gen.driver.tier);
        await gen.driver.dispose();
      }
      this.#o.changed();
      await this.start(slot);
    });
  }

  /** Take the generation out of service: wait (bounded) for its leases and calls, unload, end its thread. */
  async #retire(gen: Generation): Promise<void> {
    gen.retired = true;
    if (gen.driver) this.#o.drivers.remove(gen.driver.tier);
    this.#o.changed();
    const budget = this.#o.budgets.unload;
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
}
