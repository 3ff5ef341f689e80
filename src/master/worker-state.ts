import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { MasterMessage, WorkerMessage__Output } from '../protocol/proto.ts';
import type { Candidate } from './placement.ts';
import type { WorkerStatus, WorkerView } from './types.ts';

/** Bounds on what one worker may have the Master buffer (a result record with its logs). */
const MAX_RESULT_BYTES = 128 * 1024 ** 2;
const MAX_PARTIAL_RESULTS = 1024;

export type WorkerCall = ServerDuplexStream<WorkerMessage__Output, MasterMessage>;

export interface ControlReply {
  ok: boolean;
  code: string;
  message: string;
}

interface PartialResult {
  parts: Buffer[];
  received: number;
  total: number;
}

/** What the Master knows about one worker; outlives its sessions (streams). */
export class WorkerState implements Candidate {
  readonly id: string;
  call: WorkerCall | null = null;
  instanceId = '';
  version = '';
  status: WorkerStatus = 'ok';
  statusReason = '';
  draining = false;
  mode: 'push' | 'pull' = 'push';
  window = 0;
  pullBudget = 0;
  concurrency = 1;
  queueSize = 0;
  maxMessageBytes = 4 * 1024 ** 2;
  labels: Record<string, string> = {};
  tiers: { name: string; available: boolean; reason?: string }[] = [];
  lastSeenAt = Date.now();
  lastHeartbeatAt: number | null = null;
  running = 0;
  queued = 0;
  freeSlots = 0;
  logDroppedBytes = 0;
  resources: Record<string, number> | undefined;
  backoffUntil = 0;
  /** Set while a stream that ended waits out the reconnect grace. */
  graceTimer: NodeJS.Timeout | undefined;
  /** Task ids whose current epoch is on this worker. */
  readonly tasks = new Set<string>();
  /** Result chunks being reassembled, by outbox id. */
  readonly partial = new Map<string, PartialResult>();
  readonly controls = new Map<number, (reply: ControlReply) => void>();
  nextControlId = 1;

  constructor(id: string) {
    this.id = id;
  }

  get connected(): boolean {
    return this.call !== null;
  }

  get assigned(): number {
    return this.tasks.size;
  }

  send(message: MasterMessage): boolean {
    if (!this.call) return false;
    this.call.write(message);
    return true;
  }

  /** Add a result chunk; returns the whole record when `last` completes it. */
  addChunk(outboxId: string, offset: number, total: number, data: Buffer, last: boolean): Buffer | undefined {
    if (total > MAX_RESULT_BYTES)
      throw new Error(`a result of ${total} bytes is over the ${MAX_RESULT_BYTES}-byte cap`);
    let p = this.partial.get(outboxId);
    if (!p && this.partial.size >= MAX_PARTIAL_RESULTS) throw new Error('too many results in flight at once');
    if (!p || offset === 0) {
      p = { parts: [], received: 0, total };
      this.partial.set(outboxId, p);
    }
    if (offset !== p.received) throw new Error(`result chunk out of order: offset ${offset}, expected ${p.received}`);
    p.parts.push(data);
    p.received += data.byteLength;
    if (p.received > total) throw new Error('result chunks exceed their announced size');
    if (!last) return undefined;
    this.partial.delete(outboxId);
    return p.parts.length === 1 ? (p.parts[0] as Buffer) : Buffer.concat(p.parts);
  }

  /** Fail pending control calls (session gone). */
  failControls(message: string): void {
    for (const resolve of this.controls.values()) resolve({ ok: false, code: 'unavailable', message });
    this.controls.clear();
  }

  view(): WorkerView {
    return {
      id: this.id,
      status: this.status,
      ...(this.statusReason ? { statusReason: this.statusReason } : {}),
      connected: this.connected,
      lastHeartbeatAt: this.lastHeartbeatAt === null ? null : new Date(this.lastHeartbeatAt).toISOString(),
      mode: this.mode,
      runningTasks: this.running,
      queuedTasks: this.queued,
      freeSlots: this.freeSlots,
      assignedTasks: this.tasks.size,
      labels: this.labels,
      tiers: this.tiers,
      ...(this.resources ? { resources: this.resources } : {}),
      ...(this.version ? { version: this.version } : {}),
      logDroppedBytes: this.logDroppedBytes,
    };
  }
}
