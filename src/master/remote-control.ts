/**
 * Control of a running task through any Master. A task's attempt runs on a worker whose stream
 * one Master holds; a cancel, pause, resume or live-log read asked of another Master is written
 * to the store as a request addressed to that Master (a row + NOTIFY on PostgreSQL), carried out
 * there, and its reply (the worker's ControlAck, or the live tail) comes back the same way.
 */
import { randomUUID } from 'node:crypto';
import type { MasterStoreBackend, RemoteAction, RemoteReply, RemoteRequest } from './store-backend.ts';

/** What a request needs from the Master it is addressed to. */
export interface RemoteHost {
  readonly masterId: string;
  readonly backend: MasterStoreBackend;
  readonly log: { warn(obj: object, msg?: string): void };
  /** Carry out a request on a task this Master's worker runs (never forwards it again). */
  actLocally(taskId: string, action: RemoteAction): Promise<RemoteReply>;
}

/** As long as a control waits for its worker (control.ts), plus the hops through the store. */
export const REMOTE_TIMEOUT_MS = 35_000;

export class RemoteControl {
  readonly #host: RemoteHost;
  readonly #waiting = new Map<string, (reply: RemoteReply) => void>();
  readonly #stops: (() => Promise<void>)[] = [];

  constructor(host: RemoteHost) {
    this.#host = host;
  }

  async start(): Promise<void> {
    this.#stops.push(
      await this.#host.backend.onRemoteReply(
        (id) => this.#waiting.has(id),
        (id, reply) => this.#waiting.get(id)?.(reply),
      ),
      await this.#host.backend.onRemoteRequest(this.#host.masterId, (request) => void this.#serve(request)),
    );
  }

  async stop(): Promise<void> {
    for (const stop of this.#stops.splice(0)) await stop().catch(() => {});
    for (const resolve of this.#waiting.values())
      resolve({ ok: false, code: 'unavailable', message: 'the Master is stopping' });
    this.#waiting.clear();
  }

  /** Ask Master `target` to act on `taskId`; its reply, or `timeout` when none comes. */
  async ask(taskId: string, action: RemoteAction, target: string, timeoutMs = REMOTE_TIMEOUT_MS): Promise<RemoteReply> {
    const id = randomUUID();
    const reply = new Promise<RemoteReply>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve({ ok: false, code: 'timeout', message: `Master ${target} did not answer for task ${taskId} in time` });
      }, timeoutMs);
      timer.unref();
      this.#waiting.set(id, (r) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(r);
      });
    });
    const request: RemoteRequest = { id, taskId, action, target, from: this.#host.masterId };
    try {
      await this.#host.backend.remoteRequest(request);
    } catch (err) {
      this.#waiting.get(id)?.({ ok: false, code: 'unavailable', message: (err as Error).message });
    }
    return reply;
  }

  async #serve(request: RemoteRequest): Promise<void> {
    let reply: RemoteReply;
    try {
      reply = await this.#host.actLocally(request.taskId, request.action);
    } catch (err) {
      reply = { ok: false, code: 'internal', message: (err as Error).message };
    }
    await this.#host.backend
      .remoteReply(request.id, reply)
      .catch((err: Error) => this.#host.log.warn({ err: err.message, request: request.id }, 'remote reply failed'));
  }
}
