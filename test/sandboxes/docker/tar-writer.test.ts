import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tarStream } from '../../../sandboxes/docker/tar-writer.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('tar writer', () => {
  it('writes an archive GNU tar extracts: files, data, dirs, symlinks and long names', async () => {
    const work = mkdtempSync(join(tmpdir(), 'strata-tar-'));
    dirs.push(work);
    const source = join(work, 'src.bin');
    writeFileSync(source, Buffer.alloc(1000, 7));
    const longPath = `usr/lib/${'deep/'.repeat(30)}module.py`;
    const chunks: Buffer[] = [];
    let counted = 0;
    const stream = tarStream(
      [
        { type: 'dir', path: 'usr/lib', mode: 0o755 },
        { type: 'file', path: 'usr/bin/tool', mode: 0o755, size: 1000, source },
        { type: 'data', path: longPath, mode: 0o644, data: Buffer.from('print(1)\n') },
        { type: 'symlink', path: 'bin', target: 'usr/bin' },
      ],
      (n) => {
        counted += n;
      },
    );
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const archive = Buffer.concat(chunks);
    expect(counted).toBe(archive.length);
    expect(archive.length % 512).toBe(0);
    writeFileSync(join(work, 'a.tar'), archive);
    const out = join(work, 'out');
    execFileSync('mkdir', [out]);
    execFileSync('tar', ['-xf', join(work, 'a.tar'), '-C', out]);
    expect(readFileSync(join(out, 'usr/bin/tool'))).toEqual(Buffer.alloc(1000, 7));
    expect(statSync(join(out, 'usr/bin/tool')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(out, longPath), 'utf8')).toBe('print(1)\n');
    expect(readlinkSync(join(out, 'bin'))).toBe('usr/bin');
  });
});
