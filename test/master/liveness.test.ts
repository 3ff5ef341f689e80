/** Worker liveness by event: a stream that ended is lost after the grace, unless a new one came. */
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { type LivenessHost, WorkerLiveness } from '../../src/master/liveness.ts';
import type { LostReason } from '../../src/master/master.ts';
import { type WorkerCall, WorkerState } from '../../src/master/worker-state.ts';

function host(): LivenessHost & { losses: [string, LostReason][] } {
  const losses: [string, LostReason][] = [];
  return {
    config: loadConfig({ env: {}, overrides: { 'master.reconnectGrace': '30ms' } }).master,
    workers: new Map(),
    log: { info() {}, warn() {}, debug() {} },
    stopped: false,
    tick() {},
    lost: (w, _now, why) => losses.push([w.id, why]),
    losses,
  };
}

const fakeCall = () => ({ end() {} }) as unknown as WorkerCall;

it('a worker whose stream ended is lost after the reconnect grace, as stream_ended', async () => {
  const h = host();
  const live = new WorkerLiveness(h);
  const w = new WorkerState('gone');
  w.call = fakeCall();
  h.workers.set(w.id, w);
  live.streamEnded(w);
  expect(h.losses).toEqual([]);
  await expect.poll(() => h.losses).toEqual([['gone', 'stream_ended']]);
  expect(w.status).toBe('lost');
  expect(live.lostCount).toBe(1);
});

it('a worker that registered a new stream within the grace keeps going', async () => {
  const h = host();
  const live = new WorkerLiveness(h);
  const w = new WorkerState('back');
  w.call = fakeCall();
  h.workers.set(w.id, w);
  live.streamEnded(w);
  w.call = fakeCall(); // a new session registered
  const other = new WorkerState('gone');
  other.call = fakeCall();
  live.streamEnded(other);
  // The other worker's grace expiring shows the first one's has too.
  await expect.poll(() => h.losses.map(([id]) => id)).toEqual(['gone']);
  expect(w.status).toBe('ok');
});
