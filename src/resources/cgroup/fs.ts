/**
 * Small synchronous helpers over a cgroup filesystem. cgroupfs operations are in-kernel and fast,
 * so sync calls keep the group code simple. Works the same on a fake cgroupfs directory (tests).
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';

/** statfs magic numbers of the real cgroup filesystems. */
const CGROUP_V1_MAGIC = 0x27e0eb;
const CGROUP_V2_MAGIC = 0x63677270;

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function readNumber(path: string): number | undefined {
  const text = readText(path)?.trim();
  if (text === undefined || text === '' || text === 'max') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** Write a control file; throws with the file name in the message. */
export function writeControl(path: string, value: string | number): void {
  try {
    writeFileSync(path, String(value));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot write ${JSON.stringify(String(value))} to ${path}: ${e.code ?? e.message}`);
  }
}

export function tryWrite(path: string, value: string | number): boolean {
  try {
    writeFileSync(path, String(value));
    return true;
  } catch {
    return false;
  }
}

export const exists = (path: string): boolean => existsSync(path);

export function listDirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/** PIDs listed in a cgroup.procs file. */
export function readPids(path: string): number[] {
  const text = readText(path);
  if (!text) return [];
  return text
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

export function isRealCgroupFs(path: string): boolean {
  try {
    const type = Number(statfsSync(path).type);
    return type === CGROUP_V1_MAGIC || type === CGROUP_V2_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Remove a group directory. On a real cgroupfs rmdir works while control files are listed; on a
 * fake directory (tests) the files are ordinary, so the tree is removed instead.
 * Returns false when the group still has processes (EBUSY) or could not be removed.
 */
export function removeGroupDir(path: string): boolean {
  if (!existsSync(path)) return true;
  try {
    rmdirSync(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' && !isRealCgroupFs(path)) {
      rmSync(path, { recursive: true, force: true });
      return true;
    }
    return false;
  }
}
