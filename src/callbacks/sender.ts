/**
 * Delivers a finished execution record to its callback URL: a signed JSON POST, retried with
 * exponential backoff (bounded attempts, jitter) on network errors, timeouts, 408, 429 and 5xx.
 * Other answers end the delivery: 2xx delivered, 3xx not followed (a redirect could lead
 * anywhere), 4xx refused. Deliveries live in memory: a worker that stops drops the pending ones
 * (logged); the record itself is stored and can still be fetched.
 */
import type { Logger } from 'pino';
import type { ExecutionRecord } from '../core/execution.ts';
import { sealedJson } from '../executor/record-seal.ts';
import { type CallbackCheck, checkCallbackUrl } from './destination.ts';
import { SIGNATURE_HEADER, sign } from './signature.ts';

export interface CallbackSenderOptions {
  key: string;
  attempts: number;
  backoffMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
  logger: Logger;
  userAgent?: string;
  /** The destination check (default: loopback only, see destination.ts). */
  check?: CallbackCheck;
}

export type DeliveryOutcome =
  | { delivered: true; attempts: number; status: number }
  | { delivered: false; attempts: number; status?: number; reason: string };

const RETRY_STATUSES = new Set([408, 425, 429]);

export class CallbackSender {
  readonly #options: CallbackSenderOptions;
  readonly #stop = new AbortController();
  readonly #pending = new Set<Promise<DeliveryOutcome>>();

  constructor(options: CallbackSenderOptions) {
    this.#options = options;
  }

  /** Check a destination at submission time (throws StrataError). */
  check(url: string): URL {
    return (this.#options.check ?? checkCallbackUrl)(url);
  }

  /** Deliver in the background; the promise settles when delivered or given up (never rejects). */
  deliver(url: string, record: ExecutionRecord, requestId?: string): Promise<DeliveryOutcome> {
    const delivery = this.#deliver(url, record, requestId).finally(() => this.#pending.delete(delivery));
    this.#pending.add(delivery);
    return delivery;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Stop retrying; deliveries in flight are aborted and logged as dropped. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([...this.#pending]);
  }

  async #deliver(url: string, record: ExecutionRecord, requestId?: string): Promise<DeliveryOutcome> {
    const { attempts, logger } = this.#options;
    const log = logger.child({ executionId: record.id, callback: url, ...(requestId ? { requestId } : {}) });
    // The record's text as it was sealed and stored (what GET /v1/executions/:id answers).
    const body = sealedJson(record) ?? JSON.stringify(record);
    let last: { status?: number; reason: string } = { reason: 'not tried' };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.#stop.signal.aborted) break;
      try {
        this.check(url); // again at send time: a swapped-in guard may resolve names now
        const status = await this.#post(url, body, record.id, attempt);
        if (status >= 200 && status < 300) {
          log.info({ attempt, status }, 'callback delivered');
          return { delivered: true, attempts: attempt, status };
        }
        last = { status, reason: `answered ${status}` };
        if (!(status >= 500 || RETRY_STATUSES.has(status))) break;
      } catch (err) {
        last = { reason: (err as Error).message };
        if ((err as { code?: string }).code === 'destination_forbidden') break;
      }
      if (attempt < attempts) {
        log.warn({ attempt, ...last }, 'callback failed; retrying');
        await this.#wait(this.#delay(attempt));
      }
    }
    const outcome: DeliveryOutcome = {
      delivered: false,
      attempts,
      ...(last.status !== undefined ? { status: last.status } : {}),
      reason: this.#stop.signal.aborted ? 'the worker stopped' : last.reason,
    };
    log.warn(outcome, 'callback given up');
    return outcome;
  }

  async #post(url: string, body: string, executionId: string, attempt: number): Promise<number> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const response = await fetch(url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.any([timeout, this.#stop.signal]),
      headers: {
        'content-type': 'application/json',
        'user-agent': this.#options.userAgent ?? 'strata-worker',
        [SIGNATURE_HEADER]: sign(this.#options.key, body),
        'Strata-Execution-Id': executionId,
        'Strata-Delivery-Attempt': String(attempt),
      },
    });
    await response.body?.cancel();
    return response.status;
  }

  #delay(attempt: number): number {
    const base = Math.min(this.#options.backoffMaxMs, this.#options.backoffMs * 2 ** (attempt - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#stop.signal.addEventListener('abort', done, { once: true });
    });
  }
}
