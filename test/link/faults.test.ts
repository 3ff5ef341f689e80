import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeCatalogue } from './support/fakes.ts';
import {
  countResults,
  deployNoop,
  startMaster,
  startWorker,
  type TestMaster,
  tempDir,
  useCleanups,
  waitFor,
  waitForTasks,
} from './support/harness.ts';
import { FreezableProxy } from './support/proxy.ts';

const cleanups = useCleanups();

const connected = (m: TestMaster, id: string) => m.server.core.workers.get(id)?.connected;

/** Every task final, one stored result each, nothing extra. */
function expectExactlyOnce(m: TestMaster, ids: string[]) {
  for (const id of ids) expect(m.server.core.task(id)?.status).toBe('succeeded');
  expect(countResults(m)).toBe(ids.length);
}

describe('faults', () => {
  it('the Master restarts while tasks run: nothing lost, nothing run twice', async () => {
    const dataDir = tempDir('strata-master-');
    const catalogue = new FakeCatalogue();
    let m = await startMaster({ dataDir, catalogue });
    const address = m.address;
    cleanups.push(() => m.stop());
    const fn = await deployNoop(m);
    const w = startWorker({ masters: [address], id: 'wr' });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(m, 'wr'), 'register');
    const running = Array.from({ length: 4 }, () => m.server.core.submit({ function: fn, input: { sleep: 600 } }));
    await waitFor(() => w.executor.running.size === 4, 'tasks to run');
    const pending = Array.from({ length: 6 }, () => m.server.core.submit({ function: fn, input: { echo: 1 } }));
    await m.stop();
    // Down for a moment: the running tasks finish meanwhile and wait in the outbox.
    await waitFor(() => w.executor.running.size === 0 && w.link.outbox.count() >= 4, 'results in the outbox');
    m = await startMaster({ dataDir, catalogue, grpc: address });
    const views = await waitForTasks(m, [...running, ...pending]);
    expectExactlyOnce(m, [...running, ...pending]);
    // The running ones were not dispatched again: the worker re-registered holding them.
    expect(views.slice(0, 4).every((v) => v?.attempt === 1)).toBe(true);
    expect(w.executor.seen.length).toBe(10);
    await waitFor(() => w.link.outbox.count() === 0, 'the outbox to empty');
  });

  it('a silently stopped link: the worker is found lost in time, its tasks re-run elsewhere, late results fenced', async () => {
    const m = await startMaster();
    cleanups.push(() => m.stop());
    const fn = await deployNoop(m);
    const proxy = new FreezableProxy(Number(m.address.split(':')[1]));
    const viaProxy = await proxy.start();
    cleanups.push(() => proxy.stop());
    const a = startWorker({ masters: [viaProxy], id: 'silent' });
    cleanups.push(() => a.stop());
    await waitFor(() => connected(m, 'silent'), 'worker via proxy');
    const ids = Array.from({ length: 4 }, () => m.server.core.submit({ function: fn, input: { sleep: 1500 } }));
    await waitFor(() => a.executor.running.size === 4, 'tasks on the silent worker');
    const b = startWorker({ masters: [m.address], id: 'healthy' });
    cleanups.push(() => b.stop());
    await waitFor(() => connected(m, 'healthy'), 'second worker');
    let lostAt = 0;
    m.server.core.on('lost', (id, at) => {
      if (id === 'silent') lostAt = at;
    });
    const frozenAt = Date.now();
    proxy.frozen = true;
    const views = await waitForTasks(m, ids, 20_000);
    // Detected within the 3 s timeout after the last heartbeat (heartbeats every 1 s), plus slack.
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt - frozenAt).toBeLessThan(4500);
    expect(views.every((v) => v?.workerId === 'healthy' && v.attempt === 2)).toBe(true);
    expectExactlyOnce(m, ids);
    // The link comes back: the silent worker's late results are refused as fenced and leave its outbox.
    proxy.frozen = false;
    await waitFor(() => a.link.outbox.count() === 0 && connected(m, 'silent'), 'late results flushed', 15_000);
    expect(m.server.core.fencedResults).toBeGreaterThanOrEqual(1);
    expectExactlyOnce(m, ids);
  }, 40_000);

  it('a worker killed with SIGKILL mid-task: found lost, its tasks re-run on another worker', async () => {
    const m = await startMaster();
    cleanups.push(() => m.stop());
    const fn = await deployNoop(m);
    const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, 'support', 'worker-child.ts')], {
      env: { ...process.env, MASTERS: m.address, WORKER_ID: 'doomed', DATA_DIR: tempDir() },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await new Promise<void>((res, rej) => {
      child.stdout?.on('data', (d) => String(d).includes('connected') && res());
      child.once('exit', (code) => rej(new Error(`worker child exited early (${code})`)));
    });
    const ids = Array.from({ length: 5 }, () => m.server.core.submit({ function: fn, input: { sleep: 30_000 } }));
    await waitFor(() => ids.every((id) => m.server.core.task(id)?.workerId === 'doomed'), 'tasks on the child');
    const b = startWorker({ masters: [m.address], id: 'survivor', concurrency: 8 });
    cleanups.push(() => b.stop());
    await waitFor(() => connected(m, 'survivor'), 'survivor');
    let lostAt = 0;
    let lostWhy = '';
    m.server.core.on('lost', (id, at, why) => {
      if (id === 'doomed') {
        lostAt = at;
        lostWhy = why;
      }
    });
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await waitFor(() => b.executor.running.size === 5, 'tasks re-run on the survivor', 10_000);
    // Found by its stream ending (500 ms grace), not by the 3 s heartbeat timeout.
    expect(lostWhy).toBe('stream_ended');
    expect(lostAt - killedAt).toBeLessThan(2500);
    expect(m.server.core.workers.get('doomed')?.status).toBe('lost');
    for (const id of ids) expect(m.server.core.task(id)).toMatchObject({ workerId: 'survivor', attempt: 2 });
    for (const id of ids) await m.server.core.cancelTask(id);
    await waitForTasks(m, ids);
    expect(countResults(m)).toBe(5);
  }, 90_000); // spawns a worker process: slow to start on a busy machine

  it('a worker whose stream breaks and reconnects within the grace keeps its tasks (no second attempt)', async () => {
    const m = await startMaster({ overrides: { 'master.reconnectGrace': '5s' } });
    cleanups.push(() => m.stop());
    const fn = await deployNoop(m);
    const w = startWorker({ masters: [m.address], id: 'blip' });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(m, 'blip'), 'register');
    const ids = Array.from({ length: 3 }, () => m.server.core.submit({ function: fn, input: { sleep: 1500 } }));
    await waitFor(() => w.executor.running.size === 3, 'tasks running');
    let lost = 0;
    m.server.core.on('lost', () => lost++);
    const before = w.link.counters.reconnects;
    // The Master ends the stream (as a broken connection would); the worker reconnects at once.
    m.server.core.workers.get('blip')?.call?.end();
    await waitFor(() => w.link.counters.reconnects > before && connected(m, 'blip'), 'the reconnect');
    const views = await waitForTasks(m, ids);
    expect(lost).toBe(0);
    expect(views.every((v) => v?.status === 'succeeded' && v.attempt === 1)).toBe(true);
    expectExactlyOnce(m, ids);
  }, 30_000);

  it('a worker restarted after SIGKILL re-registers without its tasks: they are re-dispatched at once', async () => {
    const m = await startMaster({ overrides: { 'master.heartbeatTimeout': '30s' } });
    cleanups.push(() => m.stop());
    const fn = await deployNoop(m);
    const dataDir = tempDir();
    const spawnChild = () => {
      const child = spawn(process.execPath, [join(import.meta.dirname, 'support', 'worker-child.ts')], {
        env: { ...process.env, MASTERS: m.address, WORKER_ID: 'phoenix', DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      cleanups.push(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      const ready = new Promise<void>((res, rej) => {
        child.stdout?.on('data', (d) => String(d).includes('connected') && res());
        child.once('exit', (code) => rej(new Error(`worker child exited early (${code})`)));
      });
      return { child, ready };
    };
    const first = spawnChild();
    await first.ready;
    const ids = Array.from({ length: 3 }, () => m.server.core.submit({ function: fn, input: { sleep: 400 } }));
    await waitFor(() => ids.every((id) => m.server.core.task(id)?.workerId === 'phoenix'), 'tasks on the child');
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // Well inside the 30 s timeout: only the reconcile at re-registration can re-dispatch them.
    const second = spawnChild();
    await second.ready;
    const views = await waitForTasks(m, ids, 10_000);
    expect(views.every((v) => v?.status === 'succeeded' && v.attempt === 2)).toBe(true);
    expect(countResults(m)).toBe(3);
    expect(m.server.core.workers.get('phoenix')?.status).toBe('ok');
  }, 90_000); // spawns a worker process: slow to start on a busy machine

  it('the Master unreachable for a while, and a worker restart: results wait in the outbox and arrive once', async () => {
    const dataDir = tempDir('strata-master-');
    const catalogue = new FakeCatalogue();
    let m = await startMaster({ dataDir, catalogue });
    const address = m.address;
    const fn = await deployNoop(m);
    const workerDir = tempDir();
    let w = startWorker({ masters: [address], id: 'patient', dataDir: workerDir });
    await waitFor(() => connected(m, 'patient'), 'register');
    const ids = Array.from({ length: 3 }, () => m.server.core.submit({ function: fn, input: { sleep: 300 } }));
    await waitFor(() => w.executor.running.size === 3, 'tasks running');
    await m.stop();
    await waitFor(() => w.link.outbox.count() === 3, 'results durable in the outbox');
    // The worker restarts while the Master is still away; its outbox survives.
    await w.stop();
    w = startWorker({ masters: [address], id: 'patient', dataDir: workerDir });
    cleanups.push(() => w.stop());
    expect(w.link.outbox.count()).toBe(3);
    await new Promise((r) => setTimeout(r, 800)); // reconnect attempts fail and back off meanwhile
    expect(w.link.stats().state).toBe('connecting');
    m = await startMaster({ dataDir, catalogue, grpc: address });
    cleanups.push(() => m.stop());
    await waitForTasks(m, ids);
    expectExactlyOnce(m, ids);
    await waitFor(() => w.link.outbox.count() === 0, 'outbox empty');
    expect(w.executor.seen.length).toBe(0); // nothing re-ran on the restarted worker
  }, 30_000);

  it('a Master restarted under a new id while a result is unacknowledged still receives it, once', async () => {
    const dataDir = tempDir('strata-master-');
    const catalogue = new FakeCatalogue();
    let m = await startMaster({ dataDir, catalogue, overrides: { 'master.id': 'before' } });
    const address = m.address;
    const fn = await deployNoop(m);
    const w = startWorker({ masters: [address], id: 'renamed' });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(m, 'renamed'), 'register');
    const ids = Array.from({ length: 2 }, () => m.server.core.submit({ function: fn, input: { sleep: 300 } }));
    await waitFor(() => w.executor.running.size === 2, 'tasks running');
    await m.stop();
    await waitFor(() => w.link.outbox.count() === 2, 'results durable in the outbox');
    m = await startMaster({ dataDir, catalogue, grpc: address, overrides: { 'master.id': 'after' } });
    cleanups.push(() => m.stop());
    const views = await waitForTasks(m, ids);
    expect(views.every((v) => v?.status === 'succeeded' && v.attempt === 1)).toBe(true);
    expectExactlyOnce(m, ids);
    await waitFor(() => w.link.outbox.count() === 0, 'outbox empty');
    expect(w.link.stats().masterId).toBe('after');
  }, 30_000);

  it("a Master that does not share the dispatching one's store answers unknown_task: the result waits for its own Master", async () => {
    const a = await startMaster({ overrides: { 'master.id': 'a' } });
    cleanups.push(() => a.stop());
    const b = await startMaster({ overrides: { 'master.id': 'b' } });
    cleanups.push(() => b.stop());
    const fn = await deployNoop(a);
    // Through a proxy, so the test decides which Master the worker reaches.
    const proxy = new FreezableProxy(Number(a.address.split(':')[1]));
    const via = await proxy.start();
    cleanups.push(() => proxy.stop());
    const w = startWorker({ masters: [via], id: 'wanderer' });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(a, 'wanderer'), 'register with a');
    const id = a.server.core.submit({ function: fn, input: { sleep: 400 } });
    await waitFor(() => w.executor.running.size === 1, 'the task running');
    await a.stop();
    await waitFor(() => w.link.outbox.count() === 1, 'the result in the outbox');
    proxy.target = Number(b.address.split(':')[1]);
    await waitFor(() => connected(b, 'wanderer'), 'register with b');
    await waitFor(() => w.link.counters.resultsSent >= 1, 'the result offered to b');
    // b answers in stream order: once two later heartbeats went through, its ResultAck is in.
    const beats = w.link.counters.heartbeatsSent;
    await waitFor(() => w.link.counters.heartbeatsSent >= beats + 2, 'two more heartbeats');
    // b refused it (unknown task); it stays for a.
    expect(w.link.outbox.count()).toBe(1);
    expect(b.server.core.embedded?.countResultsNow()).toBe(0);
  }, 30_000);

  it('fails over to the next Master address when the first is down', async () => {
    const m = await startMaster();
    cleanups.push(() => m.stop());
    const fn = await deployNoop(m);
    // A port nobody listens on: connections are refused at once.
    const dead = await new FreezableProxy(1).start();
    const w = startWorker({ masters: [dead, m.address], id: 'failover' });
    cleanups.push(() => w.stop());
    await waitFor(() => connected(m, 'failover'), 'failover to the live Master');
    const [view] = await waitForTasks(m, [m.server.core.submit({ function: fn, input: {} })]);
    expect(view?.workerId).toBe('failover');
  });
});
