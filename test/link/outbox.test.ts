import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/link/outbox.ts';
import { Database } from '../../src/store/database.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('durable outbox', () => {
  it('keeps results across a reopen until they are removed (acknowledged)', () => {
    dir = mkdtempSync(join(tmpdir(), 'strata-outbox-'));
    const path = join(dir, 'w.db');
    let db = new Database(path);
    let outbox = new Outbox(db);
    const entry = {
      masterId: 'm1',
      taskId: 't1',
      attempt: 1,
      epoch: '3',
      status: 'succeeded',
      errorCode: '',
      recordJson: '{}',
    };
    const id1 = outbox.add(entry);
    outbox.add({ ...entry, taskId: 't2', epoch: '4' });
    outbox.add({ ...entry, masterId: 'm2', taskId: 't3', epoch: '1' });
    db.close();
    db = new Database(path);
    outbox = new Outbox(db);
    // Every result goes to whichever Master is connected: not keyed by the dispatching Master.
    expect(outbox.pending().map((e) => e.taskId)).toEqual(['t1', 't2', 't3']);
    expect(outbox.pending().map((e) => e.epoch)).toEqual(['3', '4', '1']);
    expect(outbox.refs()).toHaveLength(3);
    expect(outbox.remove(id1)).toBe(true);
    expect(outbox.remove(id1)).toBe(false);
    expect(outbox.count()).toBe(2);
    db.close();
  });
});
