/**
 * Outcomes in the isolate tier cannot be forged or lost (issue 16 items 5, 6, 7): prototype
 * pollution, traps on the returned or thrown value, and a replaced JSON in a warm isolate leave
 * the outcome intact or end `failed` with a clear code (never killed/internal); output after an
 * invocation ended is dropped and counted, never shown in the next one; huge error text comes
 * back capped with a marker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IsolateDriver } from '../../../sandboxes/isolate/driver.ts';
import { jsArtifact, newDriver, runIn } from './helpers.ts';

let driver: IsolateDriver;
beforeAll(async () => {
  driver = newDriver(1);
  await driver.start();
});
afterAll(async () => {
  await driver.dispose();
});

const GENEROUS = { timeoutMs: 20_000 };

describe('isolate tier: forged outcomes (item 7)', () => {
  it.each([
    [
      'Object.prototype.then',
      'Object.prototype.then = function (resolve) { resolve({ kind: "ok", json: "\\"forged\\"", logs: "" }); };',
    ],
    [
      'Object.prototype.toString and valueOf',
      'Object.prototype.toString = () => { throw new Error("x"); }; Object.prototype.valueOf = () => { throw new Error("x"); };',
    ],
    [
      'Promise.prototype.then',
      'const then = Promise.prototype.then; Promise.prototype.then = function (a, b) { return then.call(this, () => a("forged"), b); };',
    ],
    [
      'Array.prototype[Symbol.iterator]',
      'Array.prototype[Symbol.iterator] = function* () { throw new Error("iterated"); };',
    ],
    [
      'a replaced JSON',
      'globalThis.JSON = { stringify: () => \'{"kind":"ok","json":"\\\\"forged\\\\""}\', parse: () => ({}) };',
    ],
    [
      'getters on Object.prototype for the outcome fields',
      'for (const k of ["kind", "json", "logs", "late", "status"]) Object.defineProperty(Object.prototype, k, { get() { throw new Error(k); }, set() {} });',
    ],
  ])('%s planted in a warm isolate does not forge the outcome', async (_, plant) => {
    const fn = jsArtifact(
      `let n = 0;\nexport default (input) => { n++; if (n === 1) { ${plant} } return { n, echo: input }; }`,
      {
        trust: 'trusted',
      },
    );
    for (const n of [1, 2, 3]) {
      const { outcome } = await runIn(driver, fn, { call: n }, GENEROUS);
      expect(outcome.status, JSON.stringify(outcome.error)).toBe('succeeded');
      expect(outcome.result).toEqual({ n, echo: { call: n } });
    }
  });

  it('Object.prototype.toJSON planted by the function shapes only its own result', async () => {
    const fn = jsArtifact('export default () => { Object.prototype.toJSON = () => "theirs"; return { a: 1 }; }', {
      trust: 'trusted',
    });
    const { outcome } = await runIn(driver, fn, null, GENEROUS);
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'succeeded', result: 'theirs' });
  });

  it.each([
    [
      'a Proxy whose traps throw',
      'new Proxy({}, { ownKeys() { throw new Error("trap"); }, get() { throw new Error("trap"); } })',
    ],
    ['a getter that throws', '({ get x() { throw new Error("getter"); } })'],
    ['a toJSON that throws', '({ toJSON() { throw new Error("toJSON"); } })'],
    [
      'a Symbol.toPrimitive that throws (inside the result)',
      '({ a: { [Symbol.toPrimitive]() { throw new Error("prim"); }, toJSON() { return String(this); } } })',
    ],
  ])('returning %s fails with result_not_serializable', async (_, value) => {
    const { outcome } = await runIn(driver, jsArtifact(`export default () => ${value}`), null, GENEROUS);
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('result_not_serializable');
  });

  it.each([
    [
      'an Error whose name and message getters throw',
      'const e = new Error("x"); Object.defineProperty(e, "name", { get() { throw 1; } }); Object.defineProperty(e, "message", { get() { throw 1; } }); throw e;',
    ],
    [
      'an object with a throwing Symbol.toPrimitive',
      'throw { [Symbol.toPrimitive]() { throw new Error("prim"); }, toJSON() { throw new Error("json"); } };',
    ],
    [
      'a Proxy',
      'throw new Proxy({}, { get() { throw new Error("trap"); }, getPrototypeOf() { throw new Error("trap"); } });',
    ],
  ])('throwing %s fails with function_error', async (_, body) => {
    const { outcome } = await runIn(driver, jsArtifact(`export default () => { ${body} }`), null, GENEROUS);
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('function_error');
    expect(outcome.error?.message).toMatch(/unprintable|Error/);
  });
});

describe('isolate tier: output after an invocation ended (item 6)', () => {
  it('is dropped and counted, never shown in the next invocation of the warm function', async () => {
    const fn = jsArtifact(
      `export default async (input, ctx) => {
        if (input.first) {
          globalThis.keptCtx = ctx;
          (async () => { for (let i = 0; i < 50; i++) await null; ctx.log('late ctx.log of call 1'); console.log('late console of call 1'); })();
          setTimeout(() => ctx.log('a timer of call 1'), 1);
          setInterval(() => console.log('an interval of call 1'), 1);
          console.log('call 1');
          return 1;
        }
        globalThis.keptCtx.log('the old ctx, in call 2');
        await new Promise((resolve) => setTimeout(resolve, 50));
        console.log('call 2');
        return 2;
      }`,
      { trust: 'trusted' },
    );
    const lateBefore = driver.health().details?.lateLogBytes as number;
    const first = await runIn(driver, fn, { first: true }, GENEROUS);
    expect(first.outcome).toMatchObject({ status: 'succeeded', result: 1 });
    expect(first.logs.text()).toBe('call 1\n');
    const second = await runIn(driver, fn, { first: false }, GENEROUS);
    expect(second.outcome).toMatchObject({ status: 'succeeded', result: 2 });
    expect(second.logs.text()).toBe('call 2\n');
    // What came after call 1 ended, and the old ctx used in call 2: counted, each once, by the
    // call after it.
    const third = await runIn(driver, fn, { first: false }, GENEROUS);
    expect(third.logs.text()).toBe('call 2\n');
    const dropped = ['late ctx.log of call 1\n', 'late console of call 1\n', 'the old ctx, in call 2\n'];
    const total = (driver.health().details?.lateLogBytes as number) - lateBefore;
    expect(total).toBe(dropped.reduce((sum, line) => sum + line.length, 0));
  });
});

describe('isolate tier: error text is bounded (item 5)', () => {
  it.each([
    ['a thrown 50 MB string', 'throw "E".repeat(50 * 2 ** 20);'],
    ['an Error with a 50 MB message', 'throw new Error("E".repeat(50 * 2 ** 20));'],
  ])('%s comes back within limits.errorBytes with a marker saying how much was cut', async (_, body) => {
    const errorBytes = 16 * 1024;
    const { outcome } = await runIn(driver, jsArtifact(`export default () => { ${body} }`), null, {
      memoryMb: 512,
      timeoutMs: 30_000,
      errorBytes,
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).toBe('function_error');
    const message = outcome.error?.message ?? '';
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(errorBytes);
    // Cut in the isolate already (characters, so 50 MB never becomes JSON), exactly within the bytes.
    const cut = /…\[(\d+) (?:bytes|characters) of error message cut\]…/.exec(message);
    expect(cut).not.toBeNull();
    expect(Number(cut?.[1])).toBeGreaterThan(50 * 2 ** 20 - errorBytes);
    expect(message.startsWith('E')).toBe(true);
  });
});
