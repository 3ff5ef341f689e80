/** The link's figures for /metrics (prom-client), read from the link when scraped. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MasterLink } from './master-link.ts';

export function registerLinkMetrics(registry: Registry, link: MasterLink): void {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  gauge('strata_link_connected', '1 while a session with a Master is established.', () =>
    link.stats().state === 'connected' ? 1 : 0,
  );
  new Gauge({
    name: 'strata_link_dispatch_mode',
    help: 'The dispatch mode in force (1 for the current one); policy is push, pull or hybrid.',
    labelNames: ['mode', 'policy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const mode of ['push', 'pull']) this.set({ mode, policy: link.policy }, link.mode === mode ? 1 : 0);
    },
  });
  gauge('strata_link_outbox_pending', 'Results stored and not yet acknowledged by the Master.', () =>
    link.outbox.count(),
  );
  gauge('strata_link_unfinished_tasks', 'Master tasks accepted and not finished.', () => link.runner.unfinished);
  counter(
    'strata_link_log_dropped_bytes_total',
    'Live log bytes dropped because the buffer was full.',
    () => link.logs.droppedBytes,
  );
  counter('strata_link_reconnects_total', 'Sessions that ended and were re-opened.', () => link.counters.reconnects);
  counter('strata_link_heartbeats_sent_total', 'Heartbeats sent.', () => link.counters.heartbeatsSent);
  counter('strata_link_results_sent_total', 'Result sends (first sends and resends).', () => link.counters.resultsSent);
  counter(
    'strata_link_mode_switches_total',
    'Hybrid dispatch mode switches (push <-> pull).',
    () => link.counters.modeSwitches,
  );
  counter('strata_link_results_acked_total', 'Results acknowledged by the Master.', () => link.counters.resultsAcked);
}
