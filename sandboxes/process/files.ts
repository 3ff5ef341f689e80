/** Files the process tier keeps on the host: its script directory and a reachable node binary. */
import { chmodSync, copyFileSync, existsSync, linkSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const DIR_PREFIX = 'strata-proc-';

/** Whether a user with no rights of its own ("others") can reach and run `path`. */
export function reachableByOthers(path: string): boolean {
  try {
    if ((statSync(path).mode & 0o005) !== 0o005) return false;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dir === dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

/**
 * The sandbox runs as an unprivileged uid, so the node binary must be reachable by it. Under a
 * private directory (a repo in a 0700 home or temp dir) it is hard-linked, or else copied, into
 * the tier's own script directory, which goes away with the tier.
 */
export function sandboxReachableNode(nodePath: string, dir: string): string {
  if (reachableByOthers(nodePath)) return nodePath;
  const staged = join(dir, 'node');
  if (!existsSync(staged)) {
    try {
      linkSync(nodePath, staged);
    } catch {
      copyFileSync(nodePath, staged);
    }
  }
  // A hard link shares the mode of the original: make it readable and runnable by others.
  chmodSync(staged, 0o755);
  return staged;
}

/** Remove script dirs of workers that are gone (the pid in the name is dead). */
export function reapScriptDirs(workDir: string): void {
  for (const name of readdirSync(workDir)) {
    const m = /^strata-proc-(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(workDir, name), { recursive: true, force: true });
    }
  }
}
