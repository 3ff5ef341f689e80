import { describe, expect, it } from 'vitest';
import { DockerStreamDemuxer } from '../../../sandboxes/docker/demux.ts';

const chunk = (stream: number, text: string): Buffer => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('docker attach stream demultiplexing', () => {
  it('splits stdout and stderr however the bytes are chunked', () => {
    const all = Buffer.concat([
      chunk(1, 'out-1 '),
      chunk(2, 'err-1 '),
      chunk(1, 'out-2'),
      chunk(2, ''),
      chunk(2, 'err-2'),
    ]);
    for (let size = 1; size <= all.length; size += 3) {
      let out = '';
      let err = '';
      const d = new DockerStreamDemuxer(
        (b) => {
          out += b.toString();
        },
        (b) => {
          err += b.toString();
        },
      );
      for (let i = 0; i < all.length; i += size) d.push(all.subarray(i, i + size));
      expect(out).toBe('out-1 out-2');
      expect(err).toBe('err-1 err-2');
    }
  });
});
