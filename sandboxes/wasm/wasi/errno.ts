/** WASI preview1 errno values we return (wasi_snapshot_preview1 `errno` enum). */
export const E = {
  SUCCESS: 0,
  ACCES: 2,
  BADF: 8,
  EXIST: 20,
  FAULT: 21,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  NOENT: 44,
  NOSPC: 51,
  NOSYS: 52,
  NOTDIR: 54,
  NOTEMPTY: 55,
  PERM: 63,
  SPIPE: 70,
  NOTCAPABLE: 76,
} as const;

/** Map a Node fs error to an errno (anything unexpected becomes EIO, never a host message). */
export function errnoOf(error: unknown): number {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return E.NOENT;
    case 'EEXIST':
      return E.EXIST;
    case 'EISDIR':
      return E.ISDIR;
    case 'ENOTDIR':
      return E.NOTDIR;
    case 'ENOTEMPTY':
      return E.NOTEMPTY;
    case 'ELOOP':
      return E.LOOP;
    case 'EACCES':
      return E.ACCES;
    case 'EPERM':
      return E.PERM;
    case 'EBADF':
      return E.BADF;
    case 'EINVAL':
      return E.INVAL;
    default:
      return E.IO;
  }
}
