/** A worker's own key, made once in a 0600 file of its data dir (the callback key, the secrets key). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { StrataError } from './errors.ts';

/** The key text in `file`, made (32 random bytes, hex) when missing; `unreadable` words the invalid_config error. */
export function readOrMakeKeyFile(file: string, unreadable: (code: string | undefined) => string): string {
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another worker on this data dir made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  try {
    chmodSync(file, 0o600);
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new StrataError('invalid_config', unreadable((err as NodeJS.ErrnoException).code));
  }
}
