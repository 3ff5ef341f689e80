/**
 * Remove the cgroup parents a launcher gave the workers it started (tests, the bench), once
 * those workers are gone. A worker reaps its own groups on a clean stop, but a host group can
 * still be emptying then, and a killed worker reaps nothing; no other worker would ever reap a
 * parent nobody else uses. Only empty groups go (rmdir), deepest first; processes still inside
 * keep their group.
 */
import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function removeCgroupParents(prefix: string, root = '/sys/fs/cgroup'): void {
  if (!existsSync(root)) return;
  const remove = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) remove(path);
    }
    try {
      rmdirSync(dir);
    } catch {
      // still in use, or not ours to remove
    }
  };
  // cgroup v2: one hierarchy at the root; v1: one per controller below it.
  for (const hierarchy of [root, ...readdirSync(root).map((c) => join(root, c))]) {
    try {
      for (const entry of readdirSync(hierarchy)) if (entry.startsWith(prefix)) remove(join(hierarchy, entry));
    } catch {
      // not a directory we can read
    }
  }
}
