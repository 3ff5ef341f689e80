/**
 * GET /v1/executions (newest first, filters, cursor pages), GET /v1/functions/:name/executions,
 * and GET /v1/executions/:id/logs (stored JSON; ?follow=1 as Server-Sent Events: `log` {seq, text}
 * in order and one last `end` {status}), through a real worker listening on a port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sseEvents } from '../../src/cli/sse-events.ts';
import { jsFunction, startTestWorker, type TestWorker } from '../gateway/support.ts';
import { itIf, processTierRequirement } from '../sandboxes/process/support.ts';

let t: TestWorker;
let base = '';

type Rec = {
  id: string;
  status: string;
  tier: string | null;
  function: { name: string };
  timings: { enqueuedAt: string };
};
type Page = { items: Rec[]; nextCursor: string | null };

const get = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${base}${path}`);
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  return (await res.json()) as T;
};

const invoke = async (name: string, input: unknown = null, query = ''): Promise<Record<string, unknown>> => {
  const res = await fetch(`${base}/v1/functions/${name}/invoke${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return (await res.json()) as Record<string, unknown>;
};

const deploy = async (manifest: Record<string, unknown>) => {
  const res = await fetch(`${base}/v1/functions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(manifest),
  });
  expect(res.status).toBeLessThan(300);
};

const ids: string[] = [];

beforeAll(async () => {
  t = await startTestWorker({}, { listen: true });
  base = t.worker.url;
  await deploy(
    jsFunction(
      'lines',
      'export default (input, ctx) => { for (let i = 1; i <= 3; i++) ctx.log("line " + i); return input; }',
    ),
  );
  await deploy(jsFunction('broken', 'export default () => { throw new Error("no") }'));
  // A script on the process tier: its stderr reaches the worker while it runs (a tick every 50 ms).
  await deploy({
    name: 'ticker',
    runtime: 'script',
    interpreter: 'sh',
    trust: 'trusted',
    source: 'n=0; while [ $n -lt 400 ]; do n=$((n+1)); echo "tick $n" >&2; sleep 0.05; done; echo $n',
    limits: { timeoutMs: 30000 },
  });
  for (let i = 0; i < 7; i++) ids.push(String((await invoke('lines', { i })).id));
  ids.push(String((await invoke('broken')).id));
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('GET /v1/executions', () => {
  it('lists newest first and pages with a cursor, every execution once', async () => {
    const first = await get<Page>('/v1/executions?limit=3');
    expect(first.items).toHaveLength(3);
    expect(first.items[0]?.id).toBe(ids.at(-1));
    const seen = [...first.items];
    let cursor = first.nextCursor;
    while (cursor) {
      const page: Page = await get<Page>(`/v1/executions?limit=3&cursor=${encodeURIComponent(cursor)}`);
      seen.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(seen.map((r) => r.id)).toEqual([...ids].reverse());
    const times = seen.map((r) => r.timings.enqueuedAt);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('filters by function, status, tier, since and until', async () => {
    const lines = await get<Page>('/v1/executions?function=lines&limit=100');
    expect(lines.items.map((r) => r.id)).toEqual(ids.slice(0, 7).reverse());
    const failed = await get<Page>('/v1/executions?status=failed');
    expect(failed.items.map((r) => r.id)).toEqual([ids[7]]);
    expect((await get<Page>('/v1/executions?tier=isolate&limit=100')).items).toHaveLength(8);
    expect((await get<Page>('/v1/executions?tier=wasm')).items).toHaveLength(0);
    const all = (await get<Page>('/v1/executions?limit=100')).items;
    const middle = all[3]!.timings.enqueuedAt;
    const since = (await get<Page>(`/v1/executions?limit=100&since=${middle}`)).items;
    expect(since.every((r) => r.timings.enqueuedAt >= middle)).toBe(true);
    expect(since.length).toBeGreaterThanOrEqual(4);
    const until = (await get<Page>(`/v1/executions?limit=100&until=${middle}`)).items;
    expect(until.every((r) => r.timings.enqueuedAt <= middle)).toBe(true);
    const perFunction = await get<Page>('/v1/functions/broken/executions');
    expect(perFunction.items.map((r) => r.id)).toEqual([ids[7]]);
  });

  it('answers 400 (never 5xx) for a bad status, limit, time or cursor', async () => {
    for (const query of [
      'status=exploded',
      'limit=0',
      'limit=100000',
      'since=yesterday',
      'cursor=%%%',
      'cursor=eyJ0IjoxfQ',
    ]) {
      const res = await fetch(`${base}/v1/executions?${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
  });
});

describe('GET /v1/executions/:id/logs', () => {
  it('answers the stored logs as JSON without follow, 404 for an unknown id', async () => {
    const logs = await get<{ executionId: string; status: string; logs: string }>(`/v1/executions/${ids[0]}/logs`);
    expect(logs).toEqual({ executionId: ids[0], status: 'succeeded', logs: 'line 1\nline 2\nline 3\n' });
    expect((await fetch(`${base}/v1/executions/nope/logs`)).status).toBe(404);
    expect((await fetch(`${base}/v1/executions/nope/logs?follow=1`)).status).toBe(404);
  });

  it('replays a finished execution as log events in order and ends at once', async () => {
    const res = await fetch(`${base}/v1/executions/${ids[1]}/logs?follow=1`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = [];
    for await (const event of sseEvents(res)) events.push(event);
    expect(events.map((e) => e.event)).toEqual(['log', 'log', 'log', 'end']);
    expect(events.slice(0, 3).map((e) => JSON.parse(e.data))).toEqual([
      { seq: 1, text: 'line 1\n' },
      { seq: 2, text: 'line 2\n' },
      { seq: 3, text: 'line 3\n' },
    ]);
    expect(JSON.parse(events[3]!.data)).toEqual({ status: 'succeeded' });
  });

  itIf(
    processTierRequirement(),
    'streams a running execution live, in order, and ends with its status',
    async () => {
      const { executionId } = (await invoke('ticker', null, '?async=1')) as { executionId: string };
      const res = await fetch(`${base}/v1/executions/${executionId}/logs?follow=1`);
      const seqs: number[] = [];
      let end: { status: string } | undefined;
      let statusAtFirstLog = '';
      for await (const event of sseEvents(res)) {
        if (event.event === 'log') {
          const chunk = JSON.parse(event.data) as { seq: number; text: string };
          seqs.push(chunk.seq);
          expect(chunk.text).toBe(`tick ${chunk.seq}\n`);
          if (seqs.length === 1) {
            // The first line arrived while the function still runs: the stream is live, not a replay.
            statusAtFirstLog = (await get<Rec>(`/v1/executions/${executionId}`)).status;
          }
          if (seqs.length === 3) await fetch(`${base}/v1/executions/${executionId}/cancel`, { method: 'POST' });
        } else if (event.event === 'end') end = JSON.parse(event.data) as { status: string };
      }
      expect(statusAtFirstLog).toBe('running');
      expect(seqs.length).toBeGreaterThanOrEqual(3);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
      expect(end).toEqual({ status: 'killed' });
      // While it ran it was in the list too (running records are merged in before they are stored).
      const after = await get<Page>('/v1/executions?function=ticker');
      expect(after.items[0]).toMatchObject({ id: executionId, status: 'killed' });
    },
    60_000,
  );

  itIf(
    processTierRequirement(),
    'lists a running execution while it runs',
    async () => {
      const { executionId } = (await invoke('ticker', null, '?async=1')) as { executionId: string };
      const res = await fetch(`${base}/v1/executions/${executionId}/logs?follow=1`);
      for await (const event of sseEvents(res)) {
        if (event.event !== 'log') continue;
        const running = await get<Page>('/v1/executions?status=running');
        expect(running.items.map((r) => r.id)).toContain(executionId);
        await fetch(`${base}/v1/executions/${executionId}/cancel`, { method: 'POST' });
        break;
      }
      await res.body?.cancel().catch(() => {});
    },
    60_000,
  );
});
