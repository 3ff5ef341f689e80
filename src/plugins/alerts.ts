/**
 * Recent alerts (plugin failed or disabled, tier unavailable or back, anomaly flagged), newest
 * first for GET /v1/alerts, each also POSTed as JSON to alerts.webhook when one is set. Delivery
 * is fire-and-forget with a timeout: a slow or dead webhook never holds anything up.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

export interface Alert {
  id: string;
  at: string;
  severity: 'info' | 'warning' | 'critical';
  /** What raised it: `plugin:<name>`, `tier:<name>`, `anomaly`. */
  source: string;
  message: string;
  details: Record<string, unknown>;
}

export interface AlertCenterOptions {
  keep: number;
  webhook?: string;
  webhookTimeoutMs: number;
  logger: Logger;
  userAgent?: string;
}

export class AlertCenter {
  readonly #alerts: Alert[] = [];
  readonly #options: AlertCenterOptions;
  readonly #sending = new Set<Promise<void>>();
  /** Webhook POSTs that failed (connection refused, non-2xx, timeout). */
  webhookFailures = 0;

  constructor(options: AlertCenterOptions) {
    this.#options = options;
  }

  raise(severity: Alert['severity'], source: string, message: string, details: Record<string, unknown> = {}): Alert {
    const alert: Alert = { id: randomUUID(), at: new Date().toISOString(), severity, source, message, details };
    this.#alerts.push(alert);
    if (this.#alerts.length > this.#options.keep) this.#alerts.splice(0, this.#alerts.length - this.#options.keep);
    this.#options.logger.warn({ alert: { severity, source, details } }, message);
    if (this.#options.webhook) this.#send(this.#options.webhook, alert);
    return alert;
  }

  /** Newest first. */
  list(limit = this.#options.keep): Alert[] {
    return this.#alerts.slice(-limit).reverse();
  }

  /** Resolves once every webhook POST started so far is over (tests, shutdown). */
  async flushed(): Promise<void> {
    await Promise.all([...this.#sending]);
  }

  #send(url: string, alert: Alert): void {
    const sending = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': this.#options.userAgent ?? 'strata-worker' },
      body: JSON.stringify(alert),
      signal: AbortSignal.timeout(this.#options.webhookTimeoutMs),
    })
      .then(async (res) => {
        await res.body?.cancel();
        if (!res.ok) throw new Error(`answered ${res.status}`);
      })
      .catch((err: Error) => {
        this.webhookFailures++;
        this.#options.logger.warn({ err: err.message, alert: alert.id }, 'alerts.webhook did not take an alert');
      })
      .finally(() => this.#sending.delete(sending));
    this.#sending.add(sending);
  }
}
