/** The Master's side of link.proto: the Connect session and FetchArtifact. */
import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type {
  ArtifactChunk__Output,
  Register__Output,
  ResultChunk__Output,
  WorkerLinkHandlers,
  WorkerMessage__Output,
} from '../protocol/proto.ts';
import { u64Number, u64NumberOrUndefined } from '../protocol/uint64.ts';
import { workerMessageProblem } from '../protocol/validate.ts';
import { chunkSize, chunks, modeFromWire } from '../protocol/wire.ts';
import type { MasterCore } from './master.ts';
import type { TaskStatus, WorkerStatus } from './types.ts';
import type { WorkerCall, WorkerState } from './worker-state.ts';

const FINAL = new Set(['succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed', 'rejected']);

/** The Master's own epoch (a number) against one on the wire (a uint64 decimal string). */
const sameEpoch = (mine: number, wire: string | number): boolean => String(mine) === String(wire);

const statusError = (code: grpc.status, details: string): Partial<grpc.StatusObject> => ({ code, details });

/** Whether the call carries one of the accepted bearer tokens (always true without tokens). */
export function authorized(metadata: grpc.Metadata, tokens: readonly string[]): boolean {
  if (tokens.length === 0) return true;
  const header = metadata.get('authorization')[0];
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  return tokens.some((t) => {
    const want = Buffer.from(t);
    return want.length === given.length && timingSafeEqual(want, given);
  });
}

const tierOf = (t: { name: string; available: boolean; reason: string }) => ({
  name: t.name,
  available: t.available,
  ...(t.reason ? { reason: t.reason } : {}),
});

function nodeStatus(value: unknown): WorkerStatus {
  if (value === 'NODE_STATUS_DEGRADED') return 'degraded';
  if (value === 'NODE_STATUS_MAINTENANCE') return 'maintenance';
  return 'ok';
}

export function linkHandlers(master: MasterCore): WorkerLinkHandlers {
  return {
    Connect(call: WorkerCall) {
      if (!authorized(call.metadata, master.config.tokens)) {
        call.emit('error', statusError(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token'));
        return;
      }
      new Session(master, call);
    },
    FetchArtifact(call: grpc.ServerWritableStream<{ digest: string; maxMessageBytes: number }, ArtifactChunk__Output>) {
      if (!authorized(call.metadata, master.config.tokens)) {
        call.emit('error', statusError(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token'));
        return;
      }
      const digest = String(call.request.digest ?? '');
      const fn = digest ? master.catalogue.getByDigest(digest) : undefined;
      if (!fn) {
        call.emit('error', statusError(grpc.status.NOT_FOUND, `no artifact with digest ${digest || '(empty)'}`));
        return;
      }
      let artifact: ReturnType<typeof master.catalogue.artifact>;
      try {
        artifact = master.catalogue.artifact(fn);
      } catch (err) {
        call.emit(
          'error',
          statusError(grpc.status.INTERNAL, `artifact ${digest} unreadable: ${(err as Error).message}`),
        );
        return;
      }
      const manifestJson = Buffer.from(JSON.stringify(artifact.manifest));
      const limit = Math.min(master.config.maxMessageBytes, call.request.maxMessageBytes || Number.POSITIVE_INFINITY);
      const size = chunkSize(limit) - manifestJson.byteLength;
      const parts = chunks(artifact.code, Math.max(1024, size));
      parts.forEach((code, i) => {
        call.write(
          i === 0
            ? {
                digest: artifact.digest,
                manifestJson,
                codeSize: String(artifact.code.byteLength),
                code: Buffer.from(code),
                signature: master.signatures.get(artifact.digest) ?? null,
              }
            : { digest: '', manifestJson: Buffer.alloc(0), codeSize: '0', code: Buffer.from(code), signature: null },
        );
      });
      call.end();
    },
  };
}

/** One Connect stream. The first message must be `register`. */
class Session {
  readonly #master: MasterCore;
  readonly #call: WorkerCall;
  #worker: WorkerState | undefined;
  #closed = false;

  constructor(master: MasterCore, call: WorkerCall) {
    this.#master = master;
    this.#call = call;
    call.on('data', (message: WorkerMessage__Output) => {
      try {
        this.#onMessage(message);
      } catch (err) {
        this.#fail(grpc.status.INVALID_ARGUMENT, (err as Error).message);
      }
    });
    call.on('end', () => this.#close());
    call.on('error', () => this.#close());
    call.on('cancelled', () => this.#close());
  }

  #fail(code: grpc.status, details: string): void {
    this.#master.log.warn({ workerId: this.#worker?.id, details }, 'link session refused');
    if (this.#closed) return;
    this.#detach();
    call_error(this.#call, code, details);
  }

  #close(): void {
    if (this.#closed) return;
    this.#detach();
    try {
      this.#call.end();
    } catch {
      // already closed
    }
  }

  #detach(): void {
    this.#closed = true;
    const w = this.#worker;
    // Only detach if this stream is still the worker's current one (a newer session may exist).
    if (w && w.call === this.#call) {
      w.call = null;
      w.failControls('the session ended');
      w.partial.clear();
      this.#master.streamEnded(w);
    }
  }

  #onMessage(m: WorkerMessage__Output): void {
    if (this.#closed) return;
    const problem = workerMessageProblem(m);
    if (problem) throw new Error(problem);
    const w = this.#worker;
    if (!w) {
      if (m.body !== 'register' || !m.register) throw new Error('the first message on a stream must be "register"');
      this.#register(m.register);
      return;
    }
    w.lastSeenAt = Date.now();
    switch (m.body) {
      case 'heartbeat': {
        const hb = m.heartbeat!;
        w.lastHeartbeatAt = w.lastSeenAt;
        if (w.status === 'lost' || w.status !== nodeStatus(hb.status)) w.status = nodeStatus(hb.status);
        w.statusReason = hb.statusReason;
        w.running = hb.runningTasks;
        w.queued = hb.queuedTasks;
        w.freeSlots = hb.freeSlots;
        w.logDroppedBytes = u64NumberOrUndefined(hb.logDroppedBytes) ?? Number.MAX_SAFE_INTEGER;
        const mode = modeFromWire(hb.mode);
        if (mode === 'push' || mode === 'pull') w.mode = mode;
        if (hb.tiers.length) w.tiers = hb.tiers.map(tierOf);
        if (hb.resources) {
          const r = hb.resources;
          w.resources = {
            cpuUsage: r.cpuUsage,
            cpuCores: r.cpuCores,
            memoryTotalBytes: Number(r.memoryTotalBytes),
            memoryUsedBytes: Number(r.memoryUsedBytes),
            diskTotalBytes: Number(r.diskTotalBytes),
            diskFreeBytes: Number(r.diskFreeBytes),
            load1: r.load1,
          };
        }
        w.send({ heartbeatAck: { seq: hb.seq } });
        if (w.status !== 'maintenance') this.#master.pump();
        return;
      }
      case 'credits': {
        const mode = modeFromWire(m.credits!.mode);
        if (mode === 'push' || mode === 'pull') w.mode = mode;
        w.window = m.credits!.window;
        if (w.mode === 'push') w.pullBudget = 0;
        this.#master.pump();
        return;
      }
      case 'pull':
        w.pullBudget = Math.min(w.pullBudget + m.pull!.count, 100_000);
        this.#master.pump();
        return;
      case 'taskStatus': {
        const ts = m.taskStatus!;
        const task = ts.task ? this.#master.live.get(ts.task.taskId) : undefined;
        if (!task || !ts.task || !sameEpoch(task.epoch, ts.task.epoch)) return; // stale or unknown: ignored
        if (ts.state === 'TASK_STATE_REFUSED') {
          w.backoffUntil = Date.now() + 50;
          // A refusal is not a failed attempt: the next dispatch reuses the number (new epoch).
          task.attempt = Math.max(0, task.attempt - 1);
          this.#master.requeue(task, `refused by ${w.id}: ${ts.message}`, true);
        } else if (ts.state === 'TASK_STATE_RUNNING' && task.status === 'dispatched') {
          task.status = 'running';
        }
        return;
      }
      case 'result':
        this.#result(w, m.result!);
        return;
      case 'log': {
        // Live logs are best effort (final logs are in the result record): kept per attempt in
        // a bounded tail, for GET /v1/tasks/:id/logs while the task runs.
        const log = m.log!;
        const task = log.task ? this.#master.live.get(log.task.taskId) : undefined;
        if (task && log.task && sameEpoch(task.epoch, log.task.epoch))
          this.#master.appendLiveLog(task.id, Buffer.from(log.data));
        return;
      }
      case 'controlAck': {
        const ack = m.controlAck!;
        this.#master.flushResults();
        const controlId = u64NumberOrUndefined(ack.controlId) ?? -1;
        const resolve = w.controls.get(controlId);
        w.controls.delete(controlId);
        resolve?.({ ok: ack.ok, code: ack.code, message: ack.message });
        return;
      }
      case 'register':
        throw new Error('"register" may only be sent once per stream');
      default:
        throw new Error('an empty or unknown message');
    }
  }

  #register(r: Register__Output): void {
    const id = r.workerId.trim();
    if (!id || id.length > 200) throw new Error('register needs a worker_id of 1-200 characters');
    const master = this.#master;
    const w = master.worker(id);
    const previous = w.call;
    if (previous && previous !== this.#call) {
      // The same worker opened a new stream (it noticed a broken link before we did).
      w.call = null;
      try {
        previous.end();
      } catch {
        // already broken
      }
    }
    this.#worker = w;
    w.call = this.#call;
    w.instanceId = r.instanceId;
    w.version = r.version;
    w.labels = { ...r.labels };
    w.tiers = r.tiers.map(tierOf);
    w.concurrency = Math.max(1, r.concurrency);
    w.queueSize = r.queueSize;
    w.maxMessageBytes = r.maxMessageBytes || master.config.maxMessageBytes;
    const mode = modeFromWire(r.credits?.mode);
    w.mode = mode === 'pull' ? 'pull' : 'push';
    w.window = r.credits?.window ?? w.concurrency;
    w.pullBudget = 0;
    w.status = 'ok';
    w.draining = false;
    w.backoffUntil = 0;
    w.lastSeenAt = Date.now();
    w.partial.clear();
    this.#call.write({
      registerAck: {
        masterId: master.masterId,
        maxMessageBytes: master.config.maxMessageBytes,
        config: master.workerConfig(),
        heartbeatTimeoutMs: master.config.heartbeatTimeout,
      },
    });
    // Reconcile: tasks we had on this worker that it no longer holds are lost there.
    const held = new Set(r.held.map((t) => `${t.taskId}:${t.epoch}`));
    for (const taskId of [...w.tasks]) {
      const task = master.live.get(taskId);
      if (!task || task.workerId !== id) {
        w.tasks.delete(taskId);
        continue;
      }
      if (!held.has(`${taskId}:${task.epoch}`)) master.requeue(task, `worker ${id} re-registered without it`);
    }
    // Attempts it still runs that were dispatched again elsewhere meanwhile: stop them.
    for (const ref of r.held) {
      const task = master.live.get(ref.taskId);
      if (task && !sameEpoch(task.epoch, ref.epoch)) {
        void master.control(id, { cancel: { taskId: ref.taskId, attempt: ref.attempt, epoch: ref.epoch } });
      }
    }
    master.shared.registered(
      w,
      r.held.map((t) => ({ taskId: t.taskId, attempt: t.attempt, epoch: String(t.epoch) })),
    );
    master.log.info({ workerId: id, instanceId: r.instanceId, held: r.held.length }, 'worker registered');
    master.emit('registered', id);
    master.pump();
  }

  #result(w: WorkerState, chunk: ResultChunk__Output): void {
    const ref = chunk.task;
    if (!ref) throw new Error('a result needs its task reference');
    const data = Buffer.from(chunk.recordJson);
    const whole = w.addChunk(
      chunk.outboxId,
      u64Number(chunk.offset, 'result.offset'),
      u64Number(chunk.totalBytes, 'result.total_bytes'),
      data,
      chunk.last,
    );
    if (!whole) return;
    const call = this.#call;
    const ack = (outcome: string) => {
      // Acked on the stream it came on; if that one is gone, the worker resends anyway.
      if (w.call !== call) return;
      w.send({
        resultAck: {
          task: ref,
          outboxId: chunk.outboxId,
          accepted: outcome === 'accepted',
          reason: outcome === 'accepted' ? '' : outcome,
        },
      });
    };
    if (!FINAL.has(chunk.status)) {
      ack('unknown_task');
      return;
    }
    this.#master.queueResult(
      w,
      {
        taskId: ref.taskId,
        attempt: ref.attempt,
        // An epoch this Master never issued (beyond 2^53) cannot match a task: fenced.
        epoch: u64NumberOrUndefined(ref.epoch) ?? -1,
        workerId: w.id,
        status: chunk.status as TaskStatus,
        errorCode: chunk.errorCode || null,
        errorMessage: null,
        recordJson: whole.toString('utf8'),
      },
      ack,
    );
  }
}

function call_error(call: WorkerCall, code: grpc.status, details: string): void {
  try {
    call.emit('error', statusError(code, details));
  } catch {
    // The stream is gone already.
  }
}
