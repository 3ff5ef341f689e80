/**
 * The wasm host's `run` reply schema (issue 16 item 1): what the worker accepts from a wasm host
 * before the driver reads it. A reply that fails it destroys the host (host-pool.test.ts shows
 * the destruction with a fake host); here, which replies fail.
 */
import { describe, expect, it } from 'vitest';
import { wasmRunReplySchema } from '../../../sandboxes/wasm/host/reply-schema.ts';

const schema = wasmRunReplySchema({ logBytes: 1024 });
const good = {
  status: 'succeeded',
  result: [1, 2],
  logs: 'hello\n',
  wallMs: 3.5,
  cpuMs: 1,
  start: { kind: 'cold', initMs: 2 },
};

describe('wasm host reply schema', () => {
  it('accepts an honest reply and a request for bytes', () => {
    expect(schema.safeParse(good).success).toBe(true);
    expect(schema.safeParse({ needBytes: true }).success).toBe(true);
    expect(
      schema.safeParse({
        status: 'failed',
        logs: '',
        wallMs: 1,
        error: { code: 'fuel_exhausted', message: 'out of fuel' },
      }).success,
    ).toBe(true);
  });

  it.each([
    ['null', null],
    ['a number', 5],
    ['numeric logs', { ...good, logs: 5 }],
    ['logs over the budget', { ...good, logs: 'x'.repeat(4096) }],
    ['a status the protocol lacks', { ...good, status: 'rejected' }],
    ['an error code a host may not send', { ...good, status: 'failed', error: { code: 'forbidden', message: 'x' } }],
    [
      'error text over the host cap',
      { ...good, status: 'failed', error: { code: 'function_error', message: 'E'.repeat(64 * 1024) } },
    ],
    ['a negative figure', { ...good, cpuMs: -1 }],
    ['a non-finite figure', { ...good, wallMs: Number.POSITIVE_INFINITY }],
    ['an unknown field', { ...good, extra: true }],
    ['a start kind the tier does not have', { ...good, start: { kind: 'warm', initMs: 1 } }],
  ])('refuses %s', (_, reply) => {
    expect(schema.safeParse(reply).success).toBe(false);
  });
});
