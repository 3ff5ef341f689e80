/** removeCgroupParents: a launcher's leftover parents go, deepest first; others' groups stay. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { removeCgroupParents } from '../../src/resources/cgroup/remove-parents.ts';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

it('removes every empty group under the parents with the prefix, in each hierarchy, and nothing else', () => {
  root = mkdtempSync(join(tmpdir(), 'strata-remove-parents-'));
  for (const controller of ['cpu', 'memory']) {
    mkdirSync(join(root, controller, 'strata-bench-worker-42', 'w43', 'strata-host-isolate-0'), { recursive: true });
    mkdirSync(join(root, controller, 'strata', 'w7'), { recursive: true });
  }
  // A group that still holds something (on a real cgroupfs: processes) is kept, with its parents.
  mkdirSync(join(root, 'pids', 'strata-bench-worker-42', 'busy'), { recursive: true });
  writeFileSync(join(root, 'pids', 'strata-bench-worker-42', 'busy', 'cgroup.procs'), '123\n');

  removeCgroupParents('strata-bench-worker-42', root);

  expect(existsSync(join(root, 'cpu', 'strata-bench-worker-42'))).toBe(false);
  expect(existsSync(join(root, 'memory', 'strata-bench-worker-42'))).toBe(false);
  expect(existsSync(join(root, 'cpu', 'strata', 'w7'))).toBe(true);
  expect(existsSync(join(root, 'pids', 'strata-bench-worker-42', 'busy'))).toBe(true);
});
