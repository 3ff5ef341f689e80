/**
 * Delivers a finished execution record to its callback URL: a signed JSON POST, retried with
 * exponential backoff (bounded attempts, jitter) on network errors, timeouts, 408, 429 and 5xx.
 * Other answers end the delivery: 2xx delivered, 3xx not followed (a redirect could lead
 * anywhere), 4xx refused. Deliveries live in memory: a worker that stops drops the pending ones
 * (logged); the record itself is stored and can still be fetched.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import type { ExecutionRecord } from '../core/execution.ts';
import { sealedJson } from '../executor/record-seal.ts';
import { DestinationGuard, pinnedLookup } from '../net/destination-guard.ts';
import { type CallbackCheck, type CallbackTarget, guardedCallbackCheck } from './destination.ts';
import { SIGNATURE_HEADER, sign } from './signature.ts';

export interface CallbackSenderOptions {
  key: string;
  attempts: number;
  backoffMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
  logger: Logger;
  userAgent?: string;
  /** The SSRF guard (default: one with no allow-list, which refuses loopback and private addresses). */
  guard?: DestinationGuard;
}

export type DeliveryOutcome =
  | { delivered: true; attempts: number; status: number }
  | { delivered: false; attempts: number; status?: number; reason: string };

const RETRY_STATUSES = new Set([408, 425, 429]);

export class CallbackSender {
  readonly #options: CallbackSenderOptions;
  readonly #stop = new AbortController();
  readonly #pending = new Set<Promise<DeliveryOutcome>>();
  readonly #check: CallbackCheck;

  constructor(options: CallbackSenderOptions) {
    this.#options = options;
    this.#check = guardedCallbackCheck(options.guard ?? new DestinationGuard());
  }

  /** Check a destination at submission time (throws StrataError; resolves the name). */
  check(url: string): Promise<CallbackTarget> {
    return this.#check(url);
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
        // Again at send time (the name may answer differently now); connect only to the pinned address.
        const target = await this.check(url);
        const status = await this.#post(target, body, record.id, attempt);
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

  /** One POST over a fresh socket to the admitted address (no second lookup, no redirects). */
  #post(target: CallbackTarget, body: string, executionId: string, attempt: number): Promise<number> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#stop.signal]);
    const { url, admitted } = target;
    return new Promise((resolve, reject) => {
      const request = url.protocol === 'https:' ? https.request : http.request;
      const req = request(url, {
        method: 'POST',
        agent: false,
        lookup: pinnedLookup(admitted),
        // TLS still checks the certificate against the name asked for, not the address.
        servername: admitted.host,
        signal,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': this.#options.userAgent ?? 'strata-worker',
          [SIGNATURE_HEADER]: sign(this.#options.key, body),
          'Strata-Execution-Id': executionId,
          'Strata-Delivery-Attempt': String(attempt),
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.end(body);
    });
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
