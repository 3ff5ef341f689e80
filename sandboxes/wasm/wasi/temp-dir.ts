/**
 * The only filesystem a guest can ever see: a per-invocation, initially empty directory made by
 * us (mode 0700) and removed afterwards. Paths are resolved component by component with lstat:
 * absolute paths and `..` past the root are ENOTCAPABLE, any symbolic link is refused (ELOOP),
 * and so is anything that is not a plain file or directory or a file with more than one hard
 * link (a host-made link planted in the directory). Files are opened with O_NOFOLLOW. The guest
 * has no way to create links itself (path_symlink/path_link are ENOSYS).
 */
import { constants, lstatSync, mkdtempSync, rmSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { E } from './errno.ts';

export const TEMP_PREFIX = 'strata-wasm-';

/** Makes the per-invocation directory; the name carries the owning pid so orphans can be reaped. */
export function makeTempDir(parent = tmpdir()): string {
  return mkdtempSync(join(parent, `${TEMP_PREFIX}${process.pid}-`));
}

export function removeTempDir(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 2 });
}

export type Resolved =
  | { ok: true; host: string; rel: string[]; stat: Stats | undefined }
  | { ok: false; errno: number };

/**
 * Resolves `path` (guest text) against `base` (components below the root) inside `root`.
 * `stat` is the final component's lstat, undefined when it does not exist.
 */
export function resolveInside(root: string, base: readonly string[], path: string): Resolved {
  if (path.includes('\0')) return { ok: false, errno: E.INVAL };
  if (path.startsWith('/')) return { ok: false, errno: E.NOTCAPABLE };
  const parts = [...base];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return { ok: false, errno: E.NOTCAPABLE };
      parts.pop();
    } else parts.push(part);
  }
  let host = root;
  let stat: Stats | undefined;
  for (let i = 0; i < parts.length; i++) {
    host = join(host, parts[i] as string);
    try {
      stat = lstatSync(host);
    } catch {
      if (i === parts.length - 1) return { ok: true, host, rel: parts, stat: undefined };
      return { ok: false, errno: E.NOENT };
    }
    const check = refuseOdd(stat);
    if (check !== E.SUCCESS) return { ok: false, errno: check };
    if (i < parts.length - 1 && !stat.isDirectory()) return { ok: false, errno: E.NOTDIR };
  }
  if (parts.length === 0) stat = lstatSync(root);
  return { ok: true, host, rel: parts, stat };
}

/** Links, devices, fifos, sockets and multiply-linked files are never shown to a guest. */
export function refuseOdd(stat: Stats): number {
  if (stat.isSymbolicLink()) return E.LOOP;
  if (stat.isDirectory()) return E.SUCCESS;
  if (!stat.isFile()) return E.NOTCAPABLE;
  if (stat.nlink > 1) return E.NOTCAPABLE;
  return E.SUCCESS;
}

/** open(2) flags for a guest open: never follow a link, never make a controlling tty. */
export const OPEN_SAFETY = constants.O_NOFOLLOW | constants.O_NOCTTY | constants.O_NONBLOCK;
