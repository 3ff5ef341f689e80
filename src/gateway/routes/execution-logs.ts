/**
 * Executions you can find and logs you can follow (DESIGN.md "Ship and show"):
 *   GET /v1/executions?function=&status=&tier=&since=&until=&limit=&cursor=  -> {items, nextCursor}
 *   GET /v1/functions/:name/executions?...                                     the same for one function
 *   GET /v1/executions/:id/logs            -> {executionId, status, logs} (stored, or so far)
 *   GET /v1/executions/:id/logs?follow=1   -> text/event-stream: `log` {seq, text} in order, then one `end` {status}
 *   GET /v1/events                         -> text/event-stream: `execution` {kind, id, function, status, ...}
 * Newest first by submission time; the cursor is opaque (the last item's time and id).
 */
import { Hono } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { StrataError } from '../../core/errors.ts';
import { type ExecutionRecord, type ExecutionStatus, FINAL_STATUSES } from '../../core/execution.ts';
import type { Executor } from '../../executor/executor.ts';
import type { ExecutionQuery, ExecutionStore } from '../../executor/records.ts';
import { tenantOf } from '../../tenants/namespace.ts';
import { type GatewayEnv, tenantOfContext } from '../env.ts';
import { type LiveExecutions, type LogChunk, splitLines } from '../live-executions.ts';
import { executionNotFound } from './executions.ts';

export const EXECUTION_STATUSES = [...FINAL_STATUSES, 'queued', 'running'] as const;
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

const isoTime = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)) || /^\d+$/.test(v), 'an ISO time or epoch milliseconds')
  .transform((v) => new Date(/^\d+$/.test(v) ? Number(v) : Date.parse(v)).toISOString());

/** The query the list routes validate (also the OpenAPI document's parameters). */
export const executionListQuery = z.object({
  function: z.string().min(1).max(200).optional().describe('function name'),
  status: z.enum(EXECUTION_STATUSES).optional(),
  tier: z.string().min(1).max(40).optional().describe('isolate, wasm, docker, process, http, ...'),
  since: isoTime.optional().describe('submitted at or after (ISO time or epoch ms)'),
  until: isoTime.optional().describe('submitted at or before (ISO time or epoch ms)'),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
  cursor: z.string().max(400).optional().describe('nextCursor of the previous page'),
});

export const logsQuery = z.object({
  follow: z.enum(['1', 'true', '0', 'false', '']).optional().describe('1: stream as Server-Sent Events'),
});

const cursorSchema = z.object({ t: z.string().max(64), i: z.string().max(200) });

export const encodeCursor = (record: ExecutionRecord): string =>
  Buffer.from(JSON.stringify({ t: record.timings.enqueuedAt, i: record.id })).toString('base64url');

function decodeCursor(cursor: string): ExecutionQuery['after'] {
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt: parsed.t, id: parsed.i };
  } catch {
    throw new StrataError('invalid_request', 'cursor is not one this API gave (use nextCursor as it came)');
  }
}

function parseQuery(raw: Record<string, string>): z.output<typeof executionListQuery> {
  const parsed = executionListQuery.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StrataError('invalid_request', `query ${issue?.path.join('.') || ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Newer first: by submission time, then id (the store's order). */
const newer = (a: ExecutionRecord, b: ExecutionRecord) =>
  a.timings.enqueuedAt === b.timings.enqueuedAt
    ? a.id < b.id
      ? 1
      : -1
    : a.timings.enqueuedAt < b.timings.enqueuedAt
      ? 1
      : -1;

function matches(record: ExecutionRecord, q: ExecutionQuery): boolean {
  const at = record.timings.enqueuedAt;
  if (q.function !== undefined && record.function.name !== q.function) return false;
  if (q.status !== undefined && record.status !== q.status) return false;
  if (q.tier !== undefined && record.tier !== q.tier) return false;
  if (q.since !== undefined && at < q.since) return false;
  if (q.until !== undefined && at > q.until) return false;
  if (q.tenant !== undefined && tenantOf(record) !== q.tenant) return false;
  if (q.after && !(at < q.after.createdAt || (at === q.after.createdAt && record.id < q.after.id))) return false;
  return true;
}

/** What the dashboard's live list needs of a record. */
export function summaryOf(record: ExecutionRecord) {
  return {
    id: record.id,
    function: record.function,
    status: record.status,
    tier: record.tier,
    enqueuedAt: record.timings.enqueuedAt,
    startedAt: record.timings.startedAt,
    finishedAt: record.timings.finishedAt,
    wallMs: record.usage?.wallMs,
    ...(record.error ? { error: record.error } : {}),
  };
}

/** Stored logs split into lines (each keeps its newline), numbered from 1. */
export function replayChunks(text: string): LogChunk[] {
  return splitLines(text).map((line, i) => ({ seq: i + 1, text: line }));
}

export interface ExecutionLogRoutesOptions {
  executor: Executor;
  records: ExecutionStore;
  live: LiveExecutions;
}

export function executionLogRoutes(options: ExecutionLogRoutesOptions): Hono<GatewayEnv> {
  const { executor, records, live } = options;
  const app = new Hono<GatewayEnv>();

  // Each tenant sees only its own executions; records carry the name the tenant knows (bare).
  const list = (tenant: string, raw: Record<string, string>, fn?: string) => {
    const q = parseQuery(raw);
    const query: ExecutionQuery = {
      tenant,
      ...(fn !== undefined ? { function: fn } : q.function !== undefined ? { function: q.function } : {}),
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(q.tier !== undefined ? { tier: q.tier } : {}),
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.until !== undefined ? { until: q.until } : {}),
      limit: q.limit + 1,
      ...(q.cursor !== undefined ? { after: decodeCursor(q.cursor) } : {}),
    };
    // Running records are not on disk yet (sync invocations are stored when they end): merge them in.
    const byId = new Map<string, ExecutionRecord>();
    for (const record of records.list(query)) byId.set(record.id, record);
    for (const record of live.running()) if (matches(record, query)) byId.set(record.id, record);
    const sorted = [...byId.values()].sort(newer);
    const items = sorted.slice(0, q.limit);
    const last = items.at(-1);
    return { items, nextCursor: sorted.length > q.limit && last ? encodeCursor(last) : null };
  };

  app.get('/v1/executions', (c) => c.json(list(tenantOfContext(c), c.req.query())));
  app.get('/v1/functions/:name/executions', (c) =>
    c.json(list(tenantOfContext(c), c.req.query(), c.req.param('name'))),
  );

  app.get('/v1/executions/:id/logs', (c) => {
    const id = c.req.param('id');
    const follow = c.req.query('follow');
    if (follow !== undefined && logsQuery.safeParse({ follow }).success === false)
      throw new StrataError('invalid_request', 'follow must be 1 (stream) or 0');
    const tenant = tenantOfContext(c);
    // Another tenant's execution answers exactly as a missing one (executions.ts does the same).
    const known = () => {
      const record = executor.liveRecord(id) ?? records.get(id);
      return record && tenantOf(record) === tenant ? record : undefined;
    };
    const notFound = () => executionNotFound(id);
    if (!(follow === '1' || follow === 'true' || follow === '')) {
      const record = known();
      if (!record) throw notFound();
      const backlog = live.backlog(id);
      const logs = backlog ? backlog.map((chunk) => chunk.text).join('') : record.logs;
      return c.json({ executionId: id, status: record.status, logs });
    }
    if (!known()) throw notFound();
    c.header('Cache-Control', 'no-store');
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, (stream) => followLogs(stream, id));
  });

  /** Backlog, then live chunks, then `end`; a finished execution replays its stored logs and ends. */
  async function followLogs(stream: SSEStreamingApi, id: string): Promise<void> {
    let lastSeq = 0;
    let ended = false;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // Writes go one after the other, in order, whatever the event source's timing.
    let chain = Promise.resolve();
    const send = (event: string, data: unknown, seq?: number) => {
      chain = chain
        .then(() =>
          stream.writeSSE({ event, data: JSON.stringify(data), ...(seq !== undefined ? { id: String(seq) } : {}) }),
        )
        .catch(() => finish());
    };
    const sendLog = (chunk: LogChunk) => {
      if (ended || chunk.seq <= lastSeq) return;
      lastSeq = chunk.seq;
      send('log', chunk, chunk.seq);
    };
    const end = (status: ExecutionStatus) => {
      if (ended) return;
      ended = true;
      send('end', { status });
      void chain.then(finish);
    };
    // Subscribe before looking, so nothing between the look and the subscription is missed.
    const unfollow = live.follow(id, {
      log: sendLog,
      end: (record) => {
        // A tier that gave no output while it ran: the record's logs are all there is.
        if (lastSeq === 0) for (const chunk of replayChunks(record.logs)) sendLog(chunk);
        end(record.status);
      },
    });
    const keepalive = setInterval(() => {
      chain = chain
        .then(() => stream.write(': keepalive\n\n'))
        .then(
          () => {},
          () => finish(),
        );
    }, KEEPALIVE_MS);
    stream.onAbort(() => finish());
    try {
      const backlog = live.backlog(id);
      if (backlog) for (const chunk of backlog) sendLog(chunk);
      else if (!executor.liveRecord(id)) {
        const record = records.get(id);
        if (record && record.status !== 'queued' && record.status !== 'running') {
          for (const chunk of replayChunks(record.logs)) sendLog(chunk);
          end(record.status);
        } else if (!record) end('killed');
      }
      await done;
    } finally {
      clearInterval(keepalive);
      unfollow();
    }
  }

  app.get('/v1/events', (c) => {
    const tenant = tenantOfContext(c);
    c.header('Cache-Control', 'no-store');
    return streamSSE(c, async (stream) => {
      let finish!: () => void;
      const done = new Promise<void>((resolve) => {
        finish = resolve;
      });
      let chain = Promise.resolve();
      const unwatch = live.watch((kind, record) => {
        if (tenantOf(record) !== tenant) return;
        const data = JSON.stringify({ kind, ...summaryOf(record) });
        chain = chain.then(() => stream.writeSSE({ event: 'execution', data })).catch(() => finish());
      });
      const keepalive = setInterval(() => {
        chain = chain
          .then(async () => {
            await stream.write(': keepalive\n\n');
          })
          .catch(() => finish());
      }, KEEPALIVE_MS);
      stream.onAbort(() => finish());
      // An opening comment: the client knows the stream is up before the first event.
      await stream.write(': open\n\n');
      try {
        await done;
      } finally {
        clearInterval(keepalive);
        unwatch();
      }
    });
  });

  return app;
}
