import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/**
 * Content-addressed files: `<root>/sha256/ab/abcdef...`. Writes go to a temp name and are renamed
 * into place, so a crash never leaves a half-written blob under its digest.
 */
export class BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
    mkdirSync(join(root, 'sha256'), { recursive: true });
  }

  pathOf(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.root, 'sha256', digest.slice(0, 2), digest);
  }

  put(data: Uint8Array): string {
    const digest = sha256(data);
    const path = this.pathOf(digest);
    mkdirSync(join(this.root, 'sha256', digest.slice(0, 2)), { recursive: true });
    const temp = `${path}.${randomUUID()}.tmp`;
    try {
      writeFileSync(temp, data, { flag: 'wx' });
      renameSync(temp, path);
    } finally {
      rmSync(temp, { force: true });
    }
    return digest;
  }

  get(digest: string): Uint8Array {
    const data = readFileSync(this.pathOf(digest));
    if (sha256(data) !== digest) throw new Error(`blob ${digest} is corrupt on disk`);
    return data;
  }
}
