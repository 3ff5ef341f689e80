/**
 * Monitor hook errors reach the execution record although monitor hooks run off the invocation's
 * path: errors in by the seal go into the record as it is sealed; later ones (every `finish`
 * event's) are appended to the stored record. Unit-level (the rules, deterministic) and through a
 * real worker (a monitor plugin that throws on start and on finish).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/core/execution.ts';
import type { MonitorEvent } from '../../src/executor/phases.ts';
import { MonitorErrors } from '../../src/plugins/monitor-errors.ts';
import { jsFunction } from '../gateway/support.ts';
import { eventually, type PluginWorker, type Record_, startPluginWorker } from './support.ts';

const event = (type: MonitorEvent['type'], executionId = 'ex-1'): MonitorEvent => ({
  type,
  at: new Date().toISOString(),
  executionId,
  data: {},
});

describe('MonitorErrors', () => {
  it('an error in before the seal goes into the record; later ones and finish errors are appended to the stored one', () => {
    const stored = new Map<string, ExecutionRecord>();
    const errors = new MonitorErrors(
      { get: (id) => structuredClone(stored.get(id)), save: (r) => stored.set(r.id, r) },
      (err) => {
        throw err;
      },
    );
    const record = { id: 'ex-1', status: 'succeeded' } as ExecutionRecord;
    const start = event('start');
    errors.begin(start);
    errors.end(start, 'watch', 'monitor hook "watch" failed on a start event: boom');
    const log = event('log');
    errors.begin(log);
    // The post phase seals the record: the start error is in it, the log call is still out.
    errors.sealHook.post(record, new AbortController().signal);
    expect(record.plugins?.errors).toEqual([
      { plugin: 'watch', phase: 'monitor', message: 'monitor hook "watch" failed on a start event: boom' },
    ]);
    stored.set(record.id, structuredClone(record));
    errors.end(log, 'watch', 'late log error');
    const finish = event('finish');
    errors.begin(finish);
    errors.end(finish, 'watch', 'finish error');
    expect(stored.get('ex-1')?.plugins?.errors?.map((e) => e.message)).toEqual([
      'monitor hook "watch" failed on a start event: boom',
      'late log error',
      'finish error',
    ]);
    expect(errors.tracked).toBe(0);
  });

  it('an error between the seal and finish waits for finish: the record is not stored yet, an append would be lost', () => {
    const stored = new Map<string, ExecutionRecord>();
    const errors = new MonitorErrors(
      { get: (id) => structuredClone(stored.get(id)), save: (r) => stored.set(r.id, r) },
      (err) => {
        throw err;
      },
    );
    const record = { id: 'ex-2', status: 'succeeded' } as ExecutionRecord;
    const start = event('start', 'ex-2');
    errors.begin(start);
    errors.sealHook.post(record, new AbortController().signal);
    // The slow start hook fails after the seal, while the group commit has not stored the record.
    errors.end(start, 'watch', 'slow start error');
    expect(stored.has('ex-2')).toBe(false);
    stored.set(record.id, structuredClone(record));
    const finish = event('finish', 'ex-2');
    errors.begin(finish);
    errors.end(finish, 'watch');
    expect(stored.get('ex-2')?.plugins?.errors?.map((e) => e.message)).toEqual(['slow start error']);
    expect(errors.tracked).toBe(0);
  });

  it('events without an execution (node samples, tier health) are not tracked', () => {
    const errors = new MonitorErrors(undefined, () => {});
    const sample = { type: 'sample', at: '', data: {} } as MonitorEvent;
    errors.begin(sample);
    errors.end(sample, 'watch', 'x');
    expect(errors.tracked).toBe(0);
  });
});

describe('monitor errors through a real worker', { timeout: 120_000 }, () => {
  let w: PluginWorker;

  beforeAll(async () => {
    w = await startPluginWorker(
      [
        {
          name: 'grumpy',
          kind: 'monitor',
          source: `export default () => ({
            onEvent(e) {
              if (e.executionId && (e.type === 'start' || e.type === 'finish')) throw new Error('no ' + e.type + ' for me');
            },
          });`,
        },
      ],
      // Many failures must not trip the breaker here: this test is about the record.
      { 'plugins.monitorBudget': '30s', 'plugins.breakerFailures': 1000 },
    );
    expect((await w.json('POST', '/v1/functions', jsFunction('echo', 'export default async (i) => i'))).status).toBe(
      201,
    );
  }, 180_000);

  afterAll(async () => {
    await w?.close();
  }, 60_000);

  it('the invocation stands; its stored record lists the start and finish errors under plugins.errors', async () => {
    const { body } = await w.json<Record_>('POST', '/v1/functions/echo/invoke', { a: 1 });
    expect(body.status).toBe('succeeded');
    expect(body.result).toEqual({ a: 1 });
    const stored = await eventually(async () => {
      const r = await w.json<Record_>('GET', `/v1/executions/${body.id}`);
      return (r.body.plugins?.errors?.length ?? 0) >= 2 ? r.body : undefined;
    });
    expect(stored.status).toBe('succeeded');
    const errors = stored.plugins?.errors ?? [];
    expect(errors.every((e) => e.plugin === 'grumpy' && e.phase === 'monitor')).toBe(true);
    expect(errors.map((e) => e.message).sort()).toEqual([
      'monitor hook "grumpy" failed on a finish event: no finish for me',
      'monitor hook "grumpy" failed on a start event: no start for me',
    ]);
    await eventually(async () => (w.worker.plugins.monitorErrors.tracked === 0 ? true : undefined));
  });
});
