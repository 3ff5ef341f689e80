/**
 * One Connect stream to one Master: register, then heartbeats, credits/pulls, dispatches, controls
 * and results until the stream breaks or goes silent.
 */
import type * as grpc from '@grpc/grpc-js';
import { StrataError } from '../core/errors.ts';
import type {
  ArtifactChunk__Output,
  MasterMessage__Output,
  WorkerLinkClient,
  WorkerMessage,
} from '../protocol/proto.ts';
import { u64Number } from '../protocol/uint64.ts';
import { masterMessageProblem } from '../protocol/validate.ts';
import { chunkSize, chunks, modeToWire, parseLabels } from '../protocol/wire.ts';
import type { OutboxEntry } from './outbox.ts';
import type { SessionHost } from './session-host.ts';
import type { FetchedArtifact } from './task-runner.ts';
import type { LinkLogger } from './types.ts';

const STATUS_WIRE = {
  ok: 'NODE_STATUS_OK',
  degraded: 'NODE_STATUS_DEGRADED',
  maintenance: 'NODE_STATUS_MAINTENANCE',
} as const;

/** Change-triggered heartbeats are at most this often (a burst of task ends sends one). */
const CHANGE_SPACING_MS = 20;

export class LinkSession {
  readonly address: string;
  readonly #link: SessionHost;
  readonly #client: WorkerLinkClient;
  readonly #log: LinkLogger;
  #call: grpc.ClientDuplexStream<WorkerMessage, MasterMessage__Output> | undefined;
  established = false;
  masterId: string | null = null;
  #maxMessageBytes: number;
  #lastReceived = Date.now();
  #lastHeartbeat = 0;
  #heartbeatSeq = 0;
  #timers: NodeJS.Timeout[] = [];
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #changeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The dispatching Master of each result sent on this stream, until its ResultAck. */
  readonly #sentTo = new Map<number, string>();
  #done: (() => void) | undefined;

  constructor(link: SessionHost, address: string, client: WorkerLinkClient, log: LinkLogger) {
    this.#link = link;
    this.address = address;
    this.#client = client;
    this.#log = log;
    this.#maxMessageBytes = link.config.maxMessageBytes;
  }

  /** Resolves when the stream is over; true when it got as far as a RegisterAck. */
  run(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.#done = () => resolve(this.established);
      const call = this.#client.Connect(this.#link.metadata());
      this.#call = call;
      call.on('data', (m: MasterMessage__Output) => {
        this.#lastReceived = Date.now();
        try {
          this.#onMessage(m);
        } catch (err) {
          this.#log.warn({ err: (err as Error).message }, 'bad message from the Master; reconnecting');
          this.close('bad message');
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        const level = err.code === 16 /* UNAUTHENTICATED */ ? 'error' : 'debug';
        this.#log[level]({ master: this.address, code: err.code, details: err.details }, 'link stream failed');
        this.#finish();
      });
      call.on('end', () => this.#finish());
      call.on('close', () => this.#finish());
      const link = this.#link;
      const stats = link.executorStats();
      this.send({
        register: {
          workerId: link.workerId,
          instanceId: link.instanceId,
          version: link.version,
          labels: parseLabels(link.config.labels),
          tiers: link.tiers().map((t) => ({ name: t.name, available: t.available, reason: t.reason ?? '' })),
          concurrency: stats.concurrency,
          queueSize: stats.queueSize,
          maxMessageBytes: link.config.maxMessageBytes,
          // Everything still held, for any Master: task ids are unique, so a Master ignores the
          // ones it does not know, and requeues its own tasks missing from this list.
          held: link.heldAll(),
          credits: { mode: modeToWire(link.mode), window: link.window() },
        },
      });
      // Register must be answered in time; then the Master must not fall silent.
      const registerTimer = setTimeout(() => {
        if (!this.established) this.close('no RegisterAck in time');
      }, link.config.connectTimeout);
      this.#timers.push(registerTimer);
      const watchdog = setInterval(
        () => {
          // The Master acks every heartbeat, so silence is judged against the interval in force too.
          const limit = Math.max(link.config.silenceTimeout, 3 * link.heartbeatIntervalMs);
          if (this.established && Date.now() - this.#lastReceived > limit) {
            this.#log.warn({ master: this.address }, 'the Master went silent; reconnecting');
            this.close('silent Master');
          }
        },
        Math.max(50, Math.floor(link.config.silenceTimeout / 4)),
      );
      this.#timers.push(watchdog);
    });
  }

  close(why: string): void {
    if (this.#closed) return;
    this.#log.debug({ master: this.address, why }, 'closing link session');
    this.#call?.cancel();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    clearTimeout(this.#heartbeatTimer);
    clearTimeout(this.#changeTimer);
    try {
      this.#call?.cancel();
    } catch {
      // already gone
    }
    this.#done?.();
  }

  send(message: WorkerMessage): void {
    if (this.#closed || !this.#call) return;
    try {
      this.#call.write(message);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'write on a closed link stream');
    }
  }

  #onMessage(m: MasterMessage__Output): void {
    const problem = masterMessageProblem(m);
    if (problem) throw new Error(problem);
    const link = this.#link;
    if (!this.established) {
      if (m.body !== 'registerAck' || !m.registerAck) throw new Error('expected register_ack first');
      const ack = m.registerAck;
      this.established = true;
      this.masterId = ack.masterId;
      if (ack.maxMessageBytes) this.#maxMessageBytes = Math.min(this.#maxMessageBytes, ack.maxMessageBytes);
      if (ack.config) link.applyConfig(ack.config);
      // Heartbeats must come well within the Master's timeout, whatever was configured.
      if (ack.heartbeatTimeoutMs)
        link.heartbeatIntervalMs = Math.min(
          link.heartbeatIntervalMs,
          Math.max(50, Math.floor(ack.heartbeatTimeoutMs / 3)),
        );
      link.resetPull();
      this.#log.info({ master: this.address, masterId: ack.masterId }, 'connected to the Master');
      this.#resendOutbox();
      this.sendCredits();
      this.#heartbeat();
      this.#pull();
      this.flushLogs();
      return;
    }
    link.onMasterMessage(m);
    switch (m.body) {
      case 'heartbeatAck':
        return;
      case 'dispatch':
        link.spentPull();
        void link.runner.dispatch(m.dispatch!, this.masterId as string, link.accepting);
        return;
      case 'resultAck': {
        const ack = m.resultAck!;
        const outboxId = u64Number(ack.outboxId, 'result_ack.outbox_id');
        const dispatchedBy = this.#sentTo.get(outboxId);
        this.#sentTo.delete(outboxId);
        // A Master that does not know the task, and did not dispatch it, may simply not share the
        // dispatching Master's store: the result stays for that Master (resent on the next session).
        if (!ack.accepted && ack.reason === 'unknown_task' && dispatchedBy && dispatchedBy !== this.masterId) {
          this.#log.debug({ task: ack.task, dispatchedBy }, 'result kept for the Master that dispatched it');
          return;
        }
        link.acked(outboxId);
        if (!ack.accepted)
          this.#log.info({ task: ack.task, reason: ack.reason }, 'the Master refused a result (dropped from outbox)');
        return;
      }
      case 'control':
        void this.#control(m.control!);
        return;
      case 'registerAck':
        return;
      default:
        return;
    }
  }

  async #control(c: NonNullable<MasterMessage__Output['control']>): Promise<void> {
    const link = this.#link;
    let reply: { ok: boolean; code: string; message: string };
    try {
      switch (c.action) {
        case 'cancel':
          reply = await link.runner.cancel(c.cancel);
          // The cancelled attempt's result goes out before the ack.
          link.runner.flushResults();
          break;
        case 'pause':
          reply = await link.runner.pauseResume('pause', c.pause);
          break;
        case 'resume':
          reply = await link.runner.pauseResume('resume', c.resume);
          break;
        case 'configure': {
          const problems = link.applyConfig(c.configure!);
          this.#rescheduleHeartbeat();
          this.sendCredits();
          this.#pull();
          reply = problems.length
            ? { ok: false, code: 'forbidden', message: problems.join('; ') }
            : { ok: true, code: '', message: '' };
          break;
        }
        case 'drain':
          await link.drain();
          reply = { ok: true, code: '', message: '' };
          break;
        default:
          reply = { ok: false, code: 'invalid_request', message: 'unknown control action' };
      }
    } catch (err) {
      reply = { ok: false, code: 'internal', message: (err as Error).message };
    }
    this.send({ controlAck: { controlId: c.controlId, ...reply } });
    if (c.action === 'drain' && c.drain?.disconnect) void link.stop();
  }

  // ---- heartbeat, credits, pulls --------------------------------------------------------------

  sendCredits(): void {
    if (!this.established) return;
    const link = this.#link;
    this.send({ credits: { mode: modeToWire(link.mode), window: link.window() } });
  }

  #pull(): void {
    if (!this.established) return;
    const count = this.#link.pullWanted();
    if (count > 0) this.send({ pull: { count } });
  }

  #heartbeat(): void {
    if (this.#closed || !this.established) return;
    clearTimeout(this.#heartbeatTimer);
    clearTimeout(this.#changeTimer);
    this.#changeTimer = undefined;
    const link = this.#link;
    const usage = link.nodeUsage();
    if (link.reevaluateMode()) {
      this.sendCredits();
      this.#pull();
    }
    const stats = link.executorStats();
    const { status, reason } = link.nodeStatus(usage);
    this.send({
      heartbeat: {
        status: STATUS_WIRE[status],
        statusReason: reason,
        resources: {
          cpuUsage: usage.cpuUsage ?? 0,
          cpuCores: usage.cpuCores ?? 0,
          memoryTotalBytes: usage.memoryTotalBytes ?? 0,
          memoryUsedBytes: usage.memoryUsedBytes ?? 0,
          diskTotalBytes: usage.diskTotalBytes ?? 0,
          diskFreeBytes: usage.diskFreeBytes ?? 0,
          load1: usage.load1 ?? 0,
        },
        runningTasks: stats.running,
        queuedTasks: stats.queued,
        freeSlots: stats.freeSlots,
        mode: modeToWire(link.mode),
        tiers: link.tiers().map((t) => ({ name: t.name, available: t.available, reason: t.reason ?? '' })),
        logDroppedBytes: link.logs.droppedBytes,
        sentAtMs: Date.now(),
        seq: ++this.#heartbeatSeq,
      },
    });
    link.counters.heartbeatsSent++;
    this.#lastHeartbeat = Date.now();
    this.#rescheduleHeartbeat();
  }

  #rescheduleHeartbeat(): void {
    clearTimeout(this.#heartbeatTimer);
    if (this.#closed) return;
    this.#heartbeatTimer = setTimeout(() => this.#heartbeat(), this.#link.heartbeatIntervalMs);
  }

  /** A change: heartbeat at once (coalesced), and in PULL ask for more. */
  onChange(): void {
    if (!this.established || this.#closed) return;
    // Mode first: a burst of dispatches can cross the hybrid threshold between heartbeats.
    if (this.#link.reevaluateMode()) this.sendCredits();
    this.#pull();
    if (this.#changeTimer) return;
    const wait = Math.max(0, this.#lastHeartbeat + CHANGE_SPACING_MS - Date.now());
    this.#changeTimer = setTimeout(() => this.#heartbeat(), wait);
  }

  // ---- results and logs -----------------------------------------------------------------------

  #resendOutbox(): void {
    for (const entry of this.#link.outbox.pending()) this.#sendEntry(entry);
  }

  /** A result just stored in the outbox: send it now to the Master of this session, whichever it is. */
  sendResult(entry: OutboxEntry): void {
    if (this.established) this.#sendEntry(entry);
  }

  #sendEntry(entry: OutboxEntry): void {
    this.#sentTo.set(entry.id, entry.masterId);
    const data = Buffer.from(entry.recordJson);
    const parts = chunks(data, chunkSize(this.#maxMessageBytes));
    let offset = 0;
    parts.forEach((part, i) => {
      this.send({
        result: {
          task: { taskId: entry.taskId, attempt: entry.attempt, epoch: entry.epoch },
          outboxId: entry.id,
          status: entry.status,
          errorCode: entry.errorCode,
          offset,
          totalBytes: data.byteLength,
          recordJson: Buffer.from(part),
          last: i === parts.length - 1,
        },
      });
      offset += part.byteLength;
    });
    this.#link.counters.resultsSent++;
  }

  flushLogs(): void {
    if (!this.established) return;
    const max = chunkSize(this.#maxMessageBytes);
    for (const log of this.#link.logs.drain()) {
      for (const part of chunks(log.data, max)) {
        this.send({
          log: {
            task: { taskId: log.taskId, attempt: log.attempt, epoch: log.epoch },
            seq: log.seq,
            data: Buffer.from(part),
            droppedBytes: log.droppedBytes,
          },
        });
      }
    }
  }

  fetchArtifact(digest: string): Promise<FetchedArtifact> {
    return new Promise((resolve, reject) => {
      const call = this.#client.FetchArtifact(
        { digest, maxMessageBytes: this.#link.config.maxMessageBytes },
        this.#link.metadata(),
        {
          deadline: Date.now() + 60_000,
        },
      );
      let manifest: unknown;
      let signature: FetchedArtifact['signature'];
      const parts: Buffer[] = [];
      let size = 0;
      let expected = -1;
      call.on('data', (chunk: ArtifactChunk__Output) => {
        if (expected < 0) {
          expected = u64Number(chunk.codeSize, 'artifact_chunk.code_size');
          if (chunk.signature?.keyId || chunk.signature?.sig)
            signature = { keyId: chunk.signature.keyId, sig: chunk.signature.sig };
          try {
            manifest = JSON.parse(Buffer.from(chunk.manifestJson).toString('utf8'));
          } catch {
            call.cancel();
            reject(new Error('the Master sent an artifact manifest that is not JSON'));
            return;
          }
        }
        size += chunk.code.byteLength;
        if (size > expected) {
          call.cancel();
          reject(new Error('the artifact is larger than announced'));
          return;
        }
        parts.push(Buffer.from(chunk.code));
      });
      call.on('error', (err: grpc.ServiceError) => {
        reject(
          err.code === 5
            ? new StrataError('not_found', `the Master has no artifact with digest ${digest}`)
            : new StrataError('internal', `fetching artifact ${digest} failed: ${err.details || err.message}`),
        );
      });
      call.on('end', () => {
        if (expected < 0 || size !== expected) {
          reject(new StrataError('invalid_code', `artifact ${digest} arrived incomplete`));
          return;
        }
        resolve({ manifest, code: Buffer.concat(parts), signature });
      });
    });
  }
}
