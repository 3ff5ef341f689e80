/**
 * A minimal tar (ustar + PAX long names) writer, enough to stream an image root file system into
 * `docker import` without a staging directory or an npm dependency. Everything is owned by root.
 */
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';

export type TarEntry =
  | { type: 'file'; path: string; mode: number; size: number; source: string }
  | { type: 'data'; path: string; mode: number; data: Buffer }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, opts: { mode: number; size: number; typeflag: string; linkname?: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(opts.mode & 0o7777, 8), 100, 8, 'ascii');
  block.write(octal(0, 8), 108, 8, 'ascii');
  block.write(octal(0, 8), 116, 8, 'ascii');
  block.write(octal(opts.size, 12), 124, 12, 'ascii');
  block.write(octal(0, 12), 136, 12, 'ascii');
  block.write('        ', 148, 8, 'ascii');
  block.write(opts.typeflag, 156, 1, 'ascii');
  if (opts.linkname) block.write(opts.linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'ascii');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function pad(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** A PAX extended header carrying the names ustar cannot hold. */
function paxHeader(path: string, linkname?: string): Buffer {
  const records: string[] = [];
  const record = (key: string, value: string) => {
    const body = ` ${key}=${value}\n`;
    const bodyBytes = Buffer.byteLength(body);
    let len = bodyBytes + 1;
    while (String(len).length + bodyBytes !== len) len = String(len).length + bodyBytes;
    records.push(`${len}${body}`);
  };
  record('path', path);
  if (linkname) record('linkpath', linkname);
  const data = Buffer.from(records.join(''));
  return Buffer.concat([
    header('PaxHeader', { mode: 0o644, size: data.length, typeflag: 'x' }),
    data,
    pad(data.length),
  ]);
}

function entryHeader(entry: TarEntry, size: number): Buffer {
  const path = entry.type === 'dir' ? `${entry.path.replace(/\/$/, '')}/` : entry.path;
  const linkname = entry.type === 'symlink' ? entry.target : undefined;
  const typeflag = entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0';
  const mode = entry.type === 'symlink' ? 0o777 : entry.mode;
  const long = Buffer.byteLength(path) >= 100 || (linkname !== undefined && Buffer.byteLength(linkname) >= 100);
  const own = header(long ? path.slice(0, 99) : path, { mode, size, typeflag, linkname: long ? undefined : linkname });
  return long ? Buffer.concat([paxHeader(path, linkname), own]) : own;
}

/** The tar stream of `entries`, with `onBytes` called as bytes are produced (progress). */
export function tarStream(entries: readonly TarEntry[], onBytes?: (bytes: number) => void): Readable {
  const outStream = new PassThrough({ highWaterMark: 1024 * 1024 });
  const push = async (chunk: Buffer) => {
    onBytes?.(chunk.length);
    if (!outStream.write(chunk)) await new Promise((resolve) => outStream.once('drain', resolve));
  };
  (async () => {
    for (const entry of entries) {
      if (entry.type === 'file') {
        await push(entryHeader(entry, entry.size));
        let written = 0;
        for await (const chunk of createReadStream(entry.source, { highWaterMark: 1024 * 1024 })) {
          const buf = chunk as Buffer;
          // A file that grew since it was planned would corrupt the archive: cut it to size.
          const part = buf.subarray(0, Math.max(0, entry.size - written));
          written += part.length;
          if (part.length > 0) await push(part);
        }
        if (written < entry.size) await push(Buffer.alloc(entry.size - written));
        await push(pad(entry.size));
      } else if (entry.type === 'data') {
        await push(entryHeader(entry, entry.data.length));
        await push(entry.data);
        await push(pad(entry.data.length));
      } else {
        await push(entryHeader(entry, 0));
      }
    }
    await push(Buffer.alloc(BLOCK * 2));
    outStream.end();
  })().catch((error: unknown) => outStream.destroy(error as Error));
  return outStream;
}
