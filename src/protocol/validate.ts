/**
 * The rules of link.proto that protobuf itself cannot express, checked on every decoded message
 * before either side uses it: the body a message must carry, task references, uint64 text,
 * statuses, digests. Each side treats a violation the same way: the Master ends that session with
 * INVALID_ARGUMENT, the worker drops the stream and reconnects. Neither ever throws past here.
 */
import { z } from 'zod';
import type { MasterMessage__Output, WorkerMessage__Output } from './proto.ts';

const u64 = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'a uint64 as decimal text');
const taskRef = z.object({
  taskId: z.string().min(1).max(200),
  attempt: z.number().int().nonnegative(),
  epoch: u64,
});
const digest = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 digest in lowercase hex');

/** The statuses a final result may carry (ResultChunk.status). */
export const FINAL_STATUSES = ['succeeded', 'failed', 'timeout', 'memory_exceeded', 'killed', 'rejected'] as const;

const workerBodies = {
  register: z.object({ workerId: z.string().trim().min(1).max(200), held: z.array(taskRef).max(1_000_000) }),
  heartbeat: z.object({ seq: u64 }),
  taskStatus: z.object({ task: taskRef }),
  result: z.object({
    task: taskRef,
    outboxId: u64,
    offset: u64,
    totalBytes: u64,
    status: z.string().max(40),
  }),
  log: z.object({ task: taskRef, seq: u64 }),
  controlAck: z.object({ controlId: u64 }),
  pull: z.object({ count: z.number().int().nonnegative() }),
  credits: z.object({ window: z.number().int().nonnegative() }),
} as const;

const masterBodies = {
  registerAck: z.object({ masterId: z.string().max(200) }),
  heartbeatAck: z.object({ seq: u64 }),
  dispatch: z.object({
    task: taskRef,
    function: z.object({ name: z.string().max(200), digest }),
    deadlineMs: u64,
  }),
  control: z.object({ controlId: u64 }),
  resultAck: z.object({ outboxId: u64 }),
} as const;

function check(bodies: Record<string, z.ZodType>, m: { body?: string } & Record<string, unknown>): string | null {
  const body = m?.body;
  if (!body || !(body in bodies)) return 'an empty or unknown message';
  const value = m[body];
  if (value === null || value === undefined) return `"${body}" without its content`;
  const parsed = (bodies[body] as z.ZodType).safeParse(value);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0];
  return `${body}.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`;
}

/** Why a worker's message breaks the contract, or null when it is well-formed. */
export const workerMessageProblem = (m: WorkerMessage__Output): string | null =>
  check(workerBodies, m as unknown as { body?: string } & Record<string, unknown>);

/** Why a Master's message breaks the contract, or null when it is well-formed. */
export const masterMessageProblem = (m: MasterMessage__Output): string | null =>
  check(masterBodies, m as unknown as { body?: string } & Record<string, unknown>);
