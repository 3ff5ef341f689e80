/** Prometheus metrics of invocations: counts by status and tier, latency, queue and slots. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ExecutionRecord } from '../core/execution.ts';
import type { ExecutorStats } from './types.ts';

export class ExecutorMetrics {
  readonly #invocations: Counter<'status' | 'tier' | 'tenant'>;
  readonly #duration: Histogram<'tier' | 'status'>;
  readonly #queueWait: Histogram<'tier'>;

  constructor(registry: Registry, stats: () => ExecutorStats) {
    this.#invocations = new Counter({
      name: 'strata_invocations_total',
      help: 'Finished invocations by final status, tier and tenant',
      labelNames: ['status', 'tier', 'tenant'],
      registers: [registry],
    });
    this.#duration = new Histogram({
      name: 'strata_invocation_duration_seconds',
      help: 'Wall time of invocations inside their sandbox',
      labelNames: ['tier', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.#queueWait = new Histogram({
      name: 'strata_invocation_queue_seconds',
      help: 'Time invocations waited for a slot',
      labelNames: ['tier'],
      buckets: [0.0001, 0.001, 0.01, 0.1, 1, 10],
      registers: [registry],
    });
    const gauge = (name: string, help: string, read: (s: ExecutorStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(stats()));
        },
      });
    gauge('strata_invocations_running', 'Invocations running now', (s) => s.running);
    gauge('strata_invocations_queued', 'Invocations waiting for a slot', (s) => s.queued);
    gauge('strata_invocation_slots', 'Invocations that may run at once', (s) => s.concurrency);
    gauge('strata_invocation_free_slots', 'Slots neither running nor claimed by the queue', (s) => s.freeSlots);
  }

  observe(record: ExecutionRecord): void {
    const tier = record.tier ?? 'none';
    this.#invocations.inc({ status: record.status, tier, tenant: record.tenant ?? 'default' });
    if (record.status !== 'rejected') {
      this.#duration.observe({ tier, status: record.status }, record.usage.wallMs / 1000);
      this.#queueWait.observe({ tier }, record.timings.queuedMs / 1000);
    }
  }
}
