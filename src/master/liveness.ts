/**
 * Worker liveness: a worker is lost when its stream ended and it did not register again within
 * the reconnect grace (detection by event), or when it fell silent for the heartbeat timeout (a
 * partition). Time the Master's own loop was stalled is not counted as the workers' silence.
 * A lost worker's unfinished tasks go back to the queue (shared-tasks.ts `lost`).
 */
import type { LostReason, MasterConfig, MasterLogger } from './master.ts';
import type { WorkerState } from './worker-state.ts';

export interface LivenessHost {
  readonly config: MasterConfig;
  readonly workers: Map<string, WorkerState>;
  readonly log: MasterLogger;
  readonly stopped: boolean;
  /** Every sweep (the store's own periodic work: registry, lease, silent workers of dead Masters). */
  tick(now: number): void;
  /** The worker is lost: requeue its tasks and tell listeners. */
  lost(w: WorkerState, now: number, why: LostReason): void;
}

export class WorkerLiveness {
  readonly #host: LivenessHost;
  #lastSweepAt: number | undefined;
  /** The sweep's period, ms (the Master's timer). */
  sweepEvery = 50;
  /** Time the Master's own loop was stalled between sweeps (not counted as worker silence). */
  stalledMs = 0;
  /** Failure detections, for the benchmark and /metrics. */
  lostCount = 0;

  constructor(host: LivenessHost) {
    this.#host = host;
  }

  /** Declare silent workers lost and dispatch their tasks again. */
  sweep(now: number): void {
    // A Master that was itself stalled (a blocked or starved event loop: seen for seconds in a
    // burst on a busy machine) cannot tell a silent worker from its own unread messages: the time
    // it was stalled does not count as the workers' silence.
    this.#host.tick(now);
    const stalled = this.#lastSweepAt === undefined ? 0 : now - this.#lastSweepAt - 2 * this.sweepEvery;
    this.#lastSweepAt = now;
    if (stalled > 0) {
      this.stalledMs += stalled;
      for (const w of this.#host.workers.values()) if (w.status !== 'lost') w.lastSeenAt += stalled;
      return;
    }
    for (const w of this.#host.workers.values()) {
      if (w.status === 'lost' || now - w.lastSeenAt <= this.#host.config.heartbeatTimeout) continue;
      this.markLost(w, now);
    }
  }

  /**
   * The worker's stream ended (detection by event, not only by timeout): lost after the reconnect
   * grace unless a new stream registered meanwhile, in which case it keeps its tasks (Register.held).
   */
  streamEnded(w: WorkerState): void {
    if (this.#host.stopped) return;
    clearTimeout(w.graceTimer);
    const ended = w.call;
    w.graceTimer = setTimeout(() => {
      w.graceTimer = undefined;
      if (this.#host.stopped || w.call !== ended || w.status === 'lost') return;
      this.markLost(w, Date.now(), 'stream_ended');
    }, this.#host.config.reconnectGrace);
    w.graceTimer.unref();
  }

  markLost(w: WorkerState, now: number, why: LostReason = 'heartbeat_timeout'): void {
    clearTimeout(w.graceTimer);
    w.graceTimer = undefined;
    this.lostCount++;
    w.status = 'lost';
    this.#host.log.warn({ workerId: w.id, silentMs: now - w.lastSeenAt, why }, 'worker lost');
    const call = w.call;
    w.call = null;
    w.failControls('the worker was lost');
    w.partial.clear();
    try {
      call?.end();
    } catch {
      // The stream may already be broken; it is dropped either way.
    }
    this.#host.lost(w, now, why);
  }
}
