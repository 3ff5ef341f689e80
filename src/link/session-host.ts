/**
 * What one session needs from the worker's link: a narrow, structural view, so session.ts does not
 * import MasterLink (and the two never import each other). MasterLink implements it.
 */
import type * as grpc from '@grpc/grpc-js';
import type { MasterMessage__Output } from '../protocol/proto.ts';
import type { LinkMode } from '../protocol/wire.ts';
import type { LinkConfig } from './credentials.ts';
import type { LogBuffer } from './log-buffer.ts';
import type { NodeUsage } from './node-usage.ts';
import type { Outbox } from './outbox.ts';
import type { TaskRef, TaskRunner } from './task-runner.ts';
import type { LinkExecutor, TierReport } from './types.ts';

/** A WorkerConfig (RegisterAck or Control.configure); zero values leave a setting. */
export type MasterLinkConfigApplier = (c: {
  heartbeatIntervalMs?: number;
  concurrency?: number;
  logLevel?: string;
  dispatchMode?: string | number;
  hybridHigh?: number;
  hybridLow?: number;
}) => string[];

export interface SessionHost {
  readonly config: LinkConfig;
  readonly workerId: string;
  readonly instanceId: string;
  readonly version: string;
  readonly mode: LinkMode;
  readonly accepting: boolean;
  readonly runner: Pick<TaskRunner, 'dispatch' | 'cancel' | 'pauseResume' | 'flushResults'>;
  readonly outbox: Pick<Outbox, 'pending'>;
  readonly logs: Pick<LogBuffer, 'drain' | 'droppedBytes'>;
  readonly counters: { heartbeatsSent: number; resultsSent: number };
  heartbeatIntervalMs: number;
  metadata(): grpc.Metadata;
  executorStats(): ReturnType<LinkExecutor['stats']>;
  tiers(): TierReport[];
  heldAll(): TaskRef[];
  window(): number;
  nodeUsage(): NodeUsage;
  nodeStatus(usage: NodeUsage): { status: 'ok' | 'degraded' | 'maintenance'; reason: string };
  reevaluateMode(): boolean;
  pullWanted(): number;
  spentPull(): void;
  resetPull(): void;
  acked(outboxId: number): void;
  applyConfig(c: Parameters<MasterLinkConfigApplier>[0]): string[];
  onMasterMessage(m: MasterMessage__Output): void;
  drain(): Promise<void>;
  stop(): Promise<void>;
}
