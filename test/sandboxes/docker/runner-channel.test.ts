/**
 * Hostile bytes at the host's end of the runner protocol, and at the runner's end of its JS
 * child: every one is a violation, none throws, and valid frames still pass.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../sandboxes/docker/framing.ts';
import { checkChildMessage } from '../../../sandboxes/docker/runner/child-messages.ts';
import { frameLimitFor, RunnerChannel } from '../../../sandboxes/docker/runner-channel.ts';

const raw = (payload: string): Buffer => {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
};

const hostileFrames: [string, Buffer][] = [
  ['a null frame', encodeFrame(null)],
  ['a number frame', encodeFrame(42)],
  ['an array frame', encodeFrame([1, 2])],
  ['a log frame whose data is a number', encodeFrame({ t: 'log', id: 'i1', stream: 'stdout', data: 42 })],
  ['a log frame with an unknown stream', encodeFrame({ t: 'log', id: 'i1', stream: 'fd3', data: 'x' })],
  ['a log frame with an extra field', encodeFrame({ t: 'log', id: 'i1', stream: 'stdout', data: 'x', evil: 1 })],
  ['a result whose ok is a string', encodeFrame({ t: 'result', id: 'i1', ok: 'yes', json: '1' })],
  [
    'a result with an unknown error code',
    encodeFrame({ t: 'result', id: 'i1', ok: false, code: 'internal', message: 'x' }),
  ],
  ['a result whose json is an object', encodeFrame({ t: 'result', id: 'i1', ok: true, json: { a: 1 } })],
  ['a frame of unknown type', encodeFrame({ t: 'exec', id: 'i1', cmd: 'rm -rf /' })],
  ['a frame with a __proto__ key', raw('{"t":"ready","pid":1,"node":"v24","__proto__":{"polluted":true}}')],
  ['a frame that is not JSON', raw('{"t":"log",')],
  ['a deeply nested frame', raw(`${'['.repeat(200_000)}${']'.repeat(200_000)}`)],
  ['a header announcing 4 GiB', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7b])],
  ['an oversized log text', encodeFrame({ t: 'log', id: 'i1', stream: 'stdout', data: 'x'.repeat(1024 * 1024 + 1) })],
  ['an empty id', encodeFrame({ t: 'pong', id: '', rssBytes: 1 })],
];

describe('host end of the runner protocol (RunnerChannel)', () => {
  it('passes the frames a runner really sends', () => {
    const channel = new RunnerChannel(frameLimitFor(1024));
    const frames = [
      { t: 'ready', pid: 7, node: 'v24.0.0' },
      { t: 'log', id: 'i1', stream: 'stderr', data: 'hello' },
      { t: 'result', id: 'i1', ok: true, json: '{"a":1}', late: 3 },
      { t: 'result', id: 'i2', ok: false, code: 'function_error', message: 'boom', exitCode: 2 },
      { t: 'pong', id: 'p', rssBytes: 1000 },
    ];
    const bytes = Buffer.concat(frames.map(encodeFrame));
    // Any chunking: split at every third byte.
    const got = [];
    for (let i = 0; i < bytes.length; i += 3) got.push(...channel.push(bytes.subarray(i, i + 3)).messages);
    expect(got).toEqual(frames);
    expect(channel.violation).toBeUndefined();
  });

  for (const [name, bytes] of hostileFrames) {
    it(`turns ${name} into a violation without throwing`, () => {
      const channel = new RunnerChannel(frameLimitFor(1024 * 1024));
      const read = channel.push(bytes);
      expect(read.messages).toEqual([]);
      expect(read.violation).toEqual(expect.any(String));
      expect(channel.violation).toBe(read.violation);
      // Once broken, later valid frames are ignored.
      expect(channel.push(encodeFrame({ t: 'ready', pid: 1, node: 'v24' })).messages).toEqual([]);
    });
  }

  it('drops the whole chunk a bad frame arrives in', () => {
    const channel = new RunnerChannel(1024 * 1024);
    const read = channel.push(
      Buffer.concat([encodeFrame({ t: 'result', id: 'i1', ok: true, json: '"forged"' }), encodeFrame(null)]),
    );
    expect(read.messages).toEqual([]);
    expect(read.violation).toMatch(/schema/);
  });

  it('bounds frames by the current invocation result limit', () => {
    const channel = new RunnerChannel(frameLimitFor(1024 * 1024));
    channel.maxFrameBytes = 100;
    const read = channel.push(encodeFrame({ t: 'log', id: 'i1', stream: 'stdout', data: 'x'.repeat(200) }));
    expect(read.violation).toMatch(/exceeds the 100-byte limit/);
  });
});

describe("runner end of the JS child's channel (checkChildMessage)", () => {
  const fenced = [true, true];
  it('accepts what js-host sends', () => {
    for (const m of [
      { t: 'ready' },
      { t: 'log', id: 'i1', stream: 'stdout', data: 'hi' },
      { t: 'result', id: 'i1', ok: true, json: '1', late: 0, fenced },
      { t: 'result', id: 'i1', ok: false, code: 'function_error', message: 'E', late: 5, fenced: [false, true] },
    ]) {
      expect(checkChildMessage(m, 1024)).toEqual({ ok: true, message: m });
    }
  });

  it.each([
    ['null', null],
    ['a string', 'result'],
    ['numeric log data', { t: 'log', id: 'i1', stream: 'stdout', data: 42 }],
    ['a result without fences', { t: 'result', id: 'i1', ok: true, json: '1', late: 0 }],
    ['a negative late count', { t: 'result', id: 'i1', ok: true, json: '1', late: -1, fenced }],
    ['json over the cap', { t: 'result', id: 'i1', ok: true, json: 'x'.repeat(2000), late: 0, fenced }],
    [
      'a code the child may not use',
      { t: 'result', id: 'i1', ok: false, code: 'protocol_violation', message: 'x', late: 0, fenced },
    ],
    ['an extra field', { t: 'ready', sneaky: 1 }],
    ['an unknown type', { t: 'spawn', id: 'i1' }],
    ['a huge id', { t: 'log', id: 'x'.repeat(500), stream: 'stdout', data: '' }],
  ])('refuses %s', (_name, value) => {
    const checked = checkChildMessage(value, 1024);
    expect(checked.ok).toBe(false);
  });
});
