/**
 * The plugin host's Prometheus metrics, and the metrics plugins define through ctx.metrics
 * (named `strata_plugin_<plugin>_<name>`, removed again when the plugin unloads).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ThreadMessage } from './protocol.ts';

export const PLUGIN_STATES = ['loaded', 'failed', 'disabled', 'unloaded'] as const;
export type PluginState = (typeof PLUGIN_STATES)[number];

export class PluginMetrics {
  readonly #registry: Registry;
  readonly calls: Counter<'plugin' | 'kind' | 'outcome'>;
  readonly duration: Histogram<'plugin' | 'kind'>;
  readonly #state: Gauge<'plugin' | 'state'>;
  readonly #own = new Map<string, Map<string, Counter | Gauge | Histogram>>();
  /** Label children per (plugin, kind, outcome): a hook call then hashes no label object. */
  readonly #children = new Map<string, { inc(): void; observe(seconds: number): void }>();

  constructor(registry: Registry) {
    this.#registry = registry;
    this.calls = new Counter({
      name: 'strata_plugin_hook_calls_total',
      help: 'Plugin hook calls by plugin, kind (pre, post, monitor, executor) and outcome (ok, rejected, error, timeout)',
      labelNames: ['plugin', 'kind', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'strata_plugin_hook_duration_seconds',
      help: 'Time of one plugin hook call, as the serving process sees it',
      labelNames: ['plugin', 'kind'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    });
    this.#state = new Gauge({
      name: 'strata_plugin_state',
      help: '1 for the state each plugin is in (loaded, failed, disabled, unloaded)',
      labelNames: ['plugin', 'state'],
      registers: [registry],
    });
  }

  /** Count one hook call and its duration (the hot path: cached label children). */
  hookCall(plugin: string, kind: string, outcome: string, seconds: number): void {
    const key = `${plugin}\u0000${kind}\u0000${outcome}`;
    let child = this.#children.get(key);
    if (!child) {
      const calls = this.calls.labels({ plugin, kind, outcome });
      const duration = this.duration.labels({ plugin, kind });
      child = { inc: () => calls.inc(), observe: (s) => duration.observe(s) };
      this.#children.set(key, child);
    }
    child.inc();
    child.observe(seconds);
  }

  state(plugin: string, state: PluginState): void {
    for (const s of PLUGIN_STATES) this.#state.set({ plugin, state: s }, s === state ? 1 : 0);
  }

  forget(plugin: string): void {
    for (const s of PLUGIN_STATES) this.#state.remove({ plugin, state: s });
    for (const key of this.#children.keys()) if (key.startsWith(`${plugin}\u0000`)) this.#children.delete(key);
  }

  /** A plugin's own metric: define or update; a bad update is dropped (the plugin's problem). */
  own(plugin: string, message: Extract<ThreadMessage, { t: 'metric' }>): void {
    const mine = this.#own.get(plugin) ?? new Map<string, Counter | Gauge | Histogram>();
    this.#own.set(plugin, mine);
    const name = `strata_plugin_${plugin.replace(/-/g, '_')}_${message.name}`;
    try {
      if (message.op === 'counter' || message.op === 'gauge' || message.op === 'histogram') {
        if (mine.has(name) || mine.size >= 50) return;
        const spec = { name, help: message.help ?? name, labelNames: message.labelNames ?? [], registers: [] };
        const metric =
          message.op === 'counter' ? new Counter(spec) : message.op === 'gauge' ? new Gauge(spec) : new Histogram(spec);
        this.#registry.registerMetric(metric);
        mine.set(name, metric);
        return;
      }
      const metric = mine.get(name);
      const labels = message.labels ?? {};
      if (message.op === 'inc' && (metric instanceof Counter || metric instanceof Gauge))
        metric.inc(labels, message.value ?? 1);
      else if (message.op === 'set' && metric instanceof Gauge) metric.set(labels, message.value ?? 0);
      else if (message.op === 'observe' && metric instanceof Histogram) metric.observe(labels, message.value ?? 0);
    } catch {
      // Wrong labels or a name clash: the plugin's mistake, never the worker's.
    }
  }

  /** Remove every metric a plugin defined (unload leaves nothing behind). */
  dropOwn(plugin: string): void {
    for (const name of this.#own.get(plugin)?.keys() ?? []) this.#registry.removeSingleMetric(name);
    this.#own.delete(plugin);
  }
}
