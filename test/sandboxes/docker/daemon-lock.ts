/**
 * Docker suites run one at a time across vitest workers: the daemon-restart suite stops the
 * daemon, which must not hit another suite's containers. A lock file holding the owner's PID
 * (taken over when that process is gone).
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK = join(tmpdir(), 'strata-docker-suites.lock');

/**
 * The time limit of a suite's start (its beforeAll): waiting for the lock while the other docker
 * suites run one after another, then starting. Generous: the wait is the sum of their run times.
 */
export const SUITE_START_MS = 1_800_000;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function lockDaemon(): Promise<void> {
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(LOCK, 'utf8').trim() || 0);
      if (owner === process.pid) return;
      if (owner > 0 && !alive(owner)) {
        try {
          unlinkSync(LOCK);
        } catch {}
        continue;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export function unlockDaemon(): void {
  try {
    if (Number(readFileSync(LOCK, 'utf8').trim()) === process.pid) unlinkSync(LOCK);
  } catch {}
}
