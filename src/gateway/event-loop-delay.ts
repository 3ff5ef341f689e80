/**
 * `strata_event_loop_delay_seconds`: how late the serving thread's event loop runs, from
 * perf_hooks.monitorEventLoopDelay, as a Prometheus summary. Quantiles (0.5, 0.9, 0.99, 0.999
 * and 1 = the worst) cover the time since the previous scrape, so one stall shows up on the next
 * scrape instead of drowning in a since-start histogram; `_sum` and `_count` are cumulative.
 * No request path should block the loop for more than 100 ms (issue 16); this is how to see it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Metric, Registry } from 'prom-client';

export const EVENT_LOOP_DELAY_METRIC = 'strata_event_loop_delay_seconds';
const QUANTILES = [0.5, 0.9, 0.99, 0.999] as const;

export function registerEventLoopDelay(registry: Registry, options: { resolutionMs?: number } = {}): { stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: options.resolutionMs ?? 10 });
  histogram.enable();
  const name = EVENT_LOOP_DELAY_METRIC;
  const help = 'Event loop delay of the serving thread (quantiles since the previous scrape)';
  let sum = 0;
  let count = 0;
  const metric = {
    name,
    help,
    type: 'summary',
    aggregator: 'sum',
    async get() {
      const n = histogram.count;
      const values: { value: number; labels: Record<string, number>; metricName?: string }[] = [];
      if (n > 0) {
        for (const q of QUANTILES) values.push({ labels: { quantile: q }, value: histogram.percentile(q * 100) / 1e9 });
        values.push({ labels: { quantile: 1 }, value: histogram.max / 1e9 });
        sum += (histogram.mean * n) / 1e9;
        count += n;
        histogram.reset();
      }
      values.push({ metricName: `${name}_sum`, labels: {}, value: sum });
      values.push({ metricName: `${name}_count`, labels: {}, value: count });
      return { name, help, type: 'summary', aggregator: 'sum', values };
    },
    reset() {
      histogram.reset();
    },
  };
  // prom-client's Metric type is its own classes; any object with name/help/type/get is served.
  registry.registerMetric(metric as unknown as Metric);
  return {
    stop() {
      histogram.disable();
      registry.removeSingleMetric(name);
    },
  };
}
