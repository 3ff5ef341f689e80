import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameTooLargeError } from '../../../sandboxes/docker/framing.ts';

describe('runner framing', () => {
  it('round-trips messages split at every byte boundary', () => {
    const messages = [{ t: 'run', id: 'a', input: '{"x":1}' }, { t: 'log', data: 'ü€😀'.repeat(10) }, {}];
    const bytes = Buffer.concat(messages.map(encodeFrame));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(got).toEqual(messages);
      expect(d.pendingBytes).toBe(0);
    }
  });

  it('decodes byte by byte and keeps a partial frame pending', () => {
    const frame = encodeFrame({ hello: 'world' });
    const d = new FrameDecoder();
    const got: unknown[] = [];
    for (let i = 0; i < frame.length - 1; i++) got.push(...d.push(frame.subarray(i, i + 1)));
    expect(got).toEqual([]);
    expect(d.pendingBytes).toBe(frame.length - 1);
    expect(d.push(frame.subarray(frame.length - 1))).toEqual([{ hello: 'world' }]);
  });

  it('writes a 4-byte big-endian length before the JSON', () => {
    const frame = encodeFrame({ a: 1 });
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(frame.subarray(4).toString()).toBe('{"a":1}');
  });

  it('refuses a frame over the limit before buffering its payload', () => {
    const d = new FrameDecoder(16);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_000, 0);
    expect(() => d.push(header)).toThrow(FrameTooLargeError);
  });

  it('throws on a payload that is not JSON', () => {
    const bad = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]);
    expect(() => new FrameDecoder().push(bad)).toThrow(SyntaxError);
  });
});
