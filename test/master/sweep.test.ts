/**
 * Silent-worker detection is judged on the worker's silence, not on the Master's own stalls: a
 * Master whose event loop was blocked for longer than the heartbeat timeout (a burst on a busy
 * machine) does not declare every worker lost when it wakes up; real silence still is detected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { MasterCore } from '../../src/master/master.ts';
import { Database } from '../../src/store/database.ts';
import { FakeCatalogue } from '../link/support/fakes.ts';

const undo: (() => void)[] = [];
afterEach(() => {
  for (const u of undo.splice(0).reverse()) u();
});

function core(): MasterCore {
  const dir = mkdtempSync(join(tmpdir(), 'strata-sweep-'));
  const db = new Database(join(dir, 'master.db'));
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  undo.push(() => db.close());
  const config = loadConfig({ env: {}, overrides: { 'master.heartbeatTimeout': '3s' } }).master;
  return new MasterCore({ config, db, catalogue: new FakeCatalogue(), masterId: 'm' });
}

it('a Master stalled for 6 s does not count the stall as the workers silence; 3 s of real silence does', () => {
  const m = core();
  const lost: string[] = [];
  m.on('lost', (id) => lost.push(id));
  const w = m.worker('w1');
  const t0 = 1_000_000;
  w.lastSeenAt = t0;
  m.sweep(t0);
  m.sweep(t0 + 50);
  // The loop was stuck for 6 s: the next sweep comes late; the worker's messages are still unread.
  m.sweep(t0 + 6050);
  expect(lost).toEqual([]);
  expect(m.stalledMs).toBeGreaterThanOrEqual(5900);
  // Then the Master runs normally and the worker really says nothing: lost after the timeout.
  let now = t0 + 6050;
  while (lost.length === 0 && now < t0 + 20_000) {
    now += 50;
    m.sweep(now);
  }
  expect(lost).toEqual(['w1']);
  // Silence counted from its last message, less the stall: about 3 s of real silence.
  expect(now - (t0 + 6050)).toBeGreaterThanOrEqual(2800);
  expect(now - (t0 + 6050)).toBeLessThanOrEqual(3200);
});
