import { describe, expect, it } from 'vitest';
import {
  countResults,
  deployNoop,
  startMaster,
  startWorker,
  type TestMaster,
  type TestWorker,
  useCleanups,
  waitFor,
  waitForTasks,
} from './support/harness.ts';

const cleanups = useCleanups();

async function master(overrides: Record<string, unknown> = {}): Promise<TestMaster> {
  const m = await startMaster({ overrides });
  cleanups.push(() => m.stop());
  return m;
}

function worker(options: Parameters<typeof startWorker>[0]): TestWorker {
  const w = startWorker(options);
  cleanups.push(() => w.stop());
  return w;
}

const connected = (m: TestMaster, id: string) => m.server.core.workers.get(id)?.connected;

describe('dispatch over the link', () => {
  it('push: tasks run on the worker and each gets exactly one stored result', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    const w = worker({ masters: [m.address], id: 'w1', overrides: { 'link.dispatchMode': 'push' } });
    await waitFor(() => connected(m, 'w1'), 'the worker to register');
    const ids = Array.from({ length: 20 }, (_, i) => m.server.core.submit({ function: fn, input: { echo: i } }));
    const views = await waitForTasks(m, ids);
    expect(views.map((v) => v?.status)).toEqual(ids.map(() => 'succeeded'));
    expect(views.map((v) => v?.result)).toEqual(ids.map((_, i) => i));
    expect(views.every((v) => v?.workerId === 'w1' && v.attempt === 1)).toBe(true);
    expect(countResults(m)).toBe(20);
    // The artifact came inline with the first dispatch and was imported (digest verified) once.
    expect(w.registry.imports).toBe(1);
    await waitFor(() => w.link.outbox.count() === 0, 'the outbox to empty (acks)');
    expect(m.server.core.workerViews()[0]?.mode).toBe('push');
  });

  it('pull: the worker receives only what it asks for, within its capacity', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    const w = worker({ masters: [m.address], id: 'wp', concurrency: 2, overrides: { 'link.dispatchMode': 'pull' } });
    await waitFor(() => connected(m, 'wp'), 'register');
    const ids = Array.from({ length: 6 }, () => m.server.core.submit({ function: fn, input: { sleep: 150 } }));
    await waitFor(() => w.executor.running.size === 2, 'two tasks running');
    await new Promise((r) => setTimeout(r, 50));
    expect(w.executor.running.size).toBe(2); // never more than it pulled
    expect(m.server.core.pendingCount).toBe(4);
    expect(m.server.core.workerViews()[0]?.mode).toBe('pull');
    const views = await waitForTasks(m, ids);
    expect(views.every((v) => v?.status === 'succeeded')).toBe(true);
  });

  it('hybrid: switches to pull above the high mark and back to push below the low mark', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    const w = worker({
      masters: [m.address],
      id: 'wh',
      concurrency: 4,
      // No smoothing or dwell: the marks alone (the hysteresis has its own tests).
      overrides: {
        'link.dispatchMode': 'hybrid',
        'link.hybridHigh': 0.75,
        'link.hybridLow': 0.25,
        'link.hybridSmoothing': 0,
        'link.hybridDwell': 0,
      },
    });
    await waitFor(() => connected(m, 'wh'), 'register');
    expect(w.link.mode).toBe('push');
    const ids = Array.from({ length: 4 }, () => m.server.core.submit({ function: fn, input: { sleep: 300 } }));
    await waitFor(() => w.link.mode === 'pull', 'the worker to switch to pull');
    await waitFor(() => m.server.core.workers.get('wh')?.mode === 'pull', 'the Master to see pull mode');
    await waitForTasks(m, ids);
    await waitFor(() => w.link.mode === 'push', 'the worker to switch back to push');
    await waitFor(() => m.server.core.workers.get('wh')?.mode === 'push', 'the Master to see push mode');
  });

  it('places tasks on the least-loaded worker and respects labels and tiers', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    await m.catalogue.deploy({ name: 'wasmfn', runtime: 'wasm', trust: 'standard' }, new Uint8Array([0, 97, 115, 109]));
    worker({ masters: [m.address], id: 'a', concurrency: 4, labels: { zone: 'a' } });
    worker({
      masters: [m.address],
      id: 'b',
      concurrency: 4,
      labels: { zone: 'b' },
      tiers: [
        { name: 'isolate', available: true },
        { name: 'wasm', available: true },
      ],
    });
    await waitFor(() => connected(m, 'a') && connected(m, 'b'), 'both workers');
    const spread = Array.from({ length: 8 }, () => m.server.core.submit({ function: fn, input: { sleep: 100 } }));
    const zoned = m.server.core.submit({ function: fn, input: {}, labels: { zone: 'a' } });
    const wasm = m.server.core.submit({ function: 'wasmfn', input: {} });
    const views = await waitForTasks(m, [...spread, zoned, wasm]);
    const on = (id: string) => views.filter((v) => v?.workerId === id).length;
    expect(on('a')).toBeGreaterThanOrEqual(3);
    expect(on('b')).toBeGreaterThanOrEqual(3);
    expect(m.server.core.task(zoned)?.workerId).toBe('a');
    expect(m.server.core.task(wasm)?.workerId).toBe('b');
  });

  it('fetches a large artifact by digest and chunks a result larger than the message limit', async () => {
    const m = await master({ 'master.inlineArtifactBytes': 16, 'master.maxMessageBytes': 256 * 1024 });
    const code = new Uint8Array(600 * 1024).fill(7);
    const fn = await deployNoop(m, code);
    const w = worker({ masters: [m.address], id: 'wbig', overrides: { 'link.maxMessageBytes': 128 * 1024 } });
    await waitFor(() => connected(m, 'wbig'), 'register');
    const id = m.server.core.submit({ function: fn, input: { bytes: 700 * 1024 } });
    const [view] = await waitForTasks(m, [id]);
    expect(view?.status).toBe('succeeded');
    expect(String(view?.result).length).toBe(700 * 1024);
    expect(w.registry.imports).toBe(1);
    const digest = m.catalogue.get(fn).digest;
    expect(w.registry.artifact(w.registry.getByDigest(digest)!).code.byteLength).toBe(code.byteLength);
  });

  it('a dispatch naming a digest the Master cannot serve ends as rejected/not_found', async () => {
    const m = await master({ 'master.inlineArtifactBytes': 0 });
    const fn = await deployNoop(m, new Uint8Array([1, 2, 3]));
    worker({ masters: [m.address], id: 'wu' });
    await waitFor(() => connected(m, 'wu'), 'register');
    // The catalogue forgets the artifact after the task was queued: the worker cannot fetch it.
    const id = m.server.core.submit({ function: fn, input: {} });
    m.catalogue.byDigest.clear();
    const [view] = await waitForTasks(m, [id]);
    expect(view?.status).toBe('rejected');
    expect(view?.error?.code).toBe('not_found');
  });
});

describe('heartbeats', () => {
  it('are sent at once on a change (task start and end, maintenance), not only every interval', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    const w = worker({ masters: [m.address], id: 'whb', overrides: { 'link.heartbeatInterval': '30s' } });
    await waitFor(() => connected(m, 'whb'), 'register');
    const view = () => m.server.core.workers.get('whb');
    await waitFor(() => view()?.lastHeartbeatAt, 'the first heartbeat');
    const id = m.server.core.submit({ function: fn, input: { sleep: 300 } });
    await waitFor(() => view()?.running === 1, 'running=1 from a change heartbeat', 2000);
    await waitForTasks(m, [id]);
    await waitFor(() => view()?.running === 0, 'running=0 from a change heartbeat', 2000);
    w.link.setMaintenance('kernel upgrade');
    await waitFor(() => view()?.status === 'maintenance', 'maintenance status', 2000);
    expect(view()?.statusReason).toBe('kernel upgrade');
    const held = m.server.core.submit({ function: fn, input: {} });
    await new Promise((r) => setTimeout(r, 150));
    expect(m.server.core.task(held)?.status).toBe('pending');
    w.link.setMaintenance(null);
    await waitForTasks(m, [held]);
  });

  it('a Master can impose the dispatch mode and heartbeat interval at registration', async () => {
    const m = await master({ 'master.dispatchMode': 'pull', 'master.workerHeartbeatInterval': '250ms' });
    const w = worker({ masters: [m.address], id: 'wimp', overrides: { 'link.dispatchMode': 'push' } });
    await waitFor(() => connected(m, 'wimp'), 'register');
    await waitFor(() => w.link.mode === 'pull', 'pull imposed');
    expect(w.link.heartbeatIntervalMs).toBe(250);
    await waitFor(() => m.server.core.workers.get('wimp')?.mode === 'pull', 'the Master sees pull');
  });
});

describe('live logs', () => {
  it('log chunks reach the Master while the task runs; a full buffer drops and counts', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    const w = worker({ masters: [m.address], id: 'wlog', overrides: { 'link.logBufferBytes': 64 } });
    await waitFor(() => connected(m, 'wlog'), 'register');
    const id = m.server.core.submit({ function: fn, input: { sleep: 10_000 } });
    await waitFor(() => w.executor.running.size === 1, 'the task to run');
    const executionId = [...w.executor.running.keys()][0] as string;
    w.link.taskLog(executionId, 'line one\n');
    w.link.taskLog(executionId, 'line two\n');
    await waitFor(() => m.server.core.logs(id) === 'line one\nline two\n', 'the live log at the Master');
    // Not connected to flush: fill past the 64-byte buffer while the stream is held up.
    w.link.logs.push({ taskId: id, attempt: 1, epoch: '1' }, 'x'.repeat(100));
    expect(w.link.logs.droppedBytes).toBe(100);
    await waitFor(() => m.server.core.workers.get('wlog')?.logDroppedBytes === 100, 'the drop count in a heartbeat');
    await m.server.core.cancelTask(id);
  });
});

describe('control messages', () => {
  it('cancel of a running task is acknowledged once the sandbox is empty', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    const w = worker({ masters: [m.address], id: 'wc' });
    await waitFor(() => connected(m, 'wc'), 'register');
    const id = m.server.core.submit({ function: fn, input: { sleep: 10_000 } });
    await waitFor(() => w.executor.running.size === 1, 'the task to run');
    const reply = await m.server.core.cancelTask(id);
    expect(reply.ok).toBe(true);
    expect(w.executor.running.size).toBe(0);
    const [view] = await waitForTasks(m, [id]);
    expect(view?.status).toBe('killed');
    expect(view?.error?.code).toBe('cancelled');
    expect(await m.server.core.cancelTask('tsk_unknown')).toMatchObject({ ok: false, code: 'not_found' });
  });

  it('pause and resume where the executor can, an honest error where it cannot', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    const w = worker({ masters: [m.address], id: 'wpz' });
    await waitFor(() => connected(m, 'wpz'), 'register');
    const id = m.server.core.submit({ function: fn, input: { sleep: 10_000 } });
    await waitFor(() => w.executor.running.size === 1, 'the task to run');
    expect(await m.server.core.pauseOrResume(id, 'pause')).toMatchObject({ ok: true });
    expect([...w.executor.running.values()][0]?.paused).toBe(true);
    expect(await m.server.core.pauseOrResume(id, 'resume')).toMatchObject({ ok: true });
    w.executor.canPause = false;
    expect(await m.server.core.pauseOrResume(id, 'pause')).toMatchObject({ ok: false, code: 'forbidden' });
    await m.server.core.cancelTask(id);
  });

  it('configuration update is applied live (heartbeat interval, concurrency, log level, mode)', async () => {
    const m = await master();
    const w = worker({ masters: [m.address], id: 'wcfg', concurrency: 2 });
    await waitFor(() => connected(m, 'wcfg'), 'register');
    const reply = await m.server.core.configureWorker('wcfg', {
      heartbeatIntervalMs: 200,
      concurrency: 6,
      logLevel: 'debug',
      dispatchMode: 'pull',
    });
    expect(reply).toMatchObject({ ok: true });
    expect(w.link.heartbeatIntervalMs).toBe(200);
    expect(w.executor.concurrency).toBe(6);
    expect(w.link.mode).toBe('pull');
    await waitFor(() => m.server.core.workers.get('wcfg')?.mode === 'pull', 'the Master to see pull');
    const bad = await m.server.core.configureWorker('wcfg', { logLevel: 'loud' });
    expect(bad).toMatchObject({ ok: false });
  });

  it('drain: running tasks finish, no new work is taken, the worker reports maintenance', async () => {
    const m = await master();
    const fn = await deployNoop(m);
    const w = worker({ masters: [m.address], id: 'wd' });
    await waitFor(() => connected(m, 'wd'), 'register');
    const running = m.server.core.submit({ function: fn, input: { sleep: 200 } });
    await waitFor(() => w.executor.running.size === 1, 'the task to run');
    const reply = await m.server.core.drainWorker('wd');
    expect(reply.ok).toBe(true);
    expect(m.server.core.task(running)?.status).toBe('succeeded');
    await waitFor(() => m.server.core.workers.get('wd')?.status === 'maintenance', 'maintenance status');
    const later = m.server.core.submit({ function: fn, input: {} });
    await new Promise((r) => setTimeout(r, 200));
    expect(m.server.core.task(later)?.status).toBe('pending');
  });
});
