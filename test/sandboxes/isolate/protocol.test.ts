/**
 * Every message the worker reads from an isolate host is validated before use (issue 16 item 1):
 * a host answering with a malformed or forged frame is destroyed, its invocation ends
 * killed/protocol_violation with death.cause 'protocol', nothing throws in this (the serving)
 * process, and an invocation on the other host goes on.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsolateDriver } from '../../../sandboxes/isolate/driver.ts';
import { isAlive, jsArtifact, runIn, until } from './helpers.ts';

const ENTRY = fileURLToPath(new URL('./fixtures/lying-host.ts', import.meta.url));
let driver: IsolateDriver;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  driver = new IsolateDriver({ hosts: 2, maxWarm: 4, killAfterMs: 500, hostEntry: ENTRY });
  await driver.start();
});

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await driver.dispose();
});

/** Two functions whose calls go to different hosts (routing is by digest; found by asking). */
async function twoHosts() {
  const first = jsArtifact('export default () => 1');
  const pidOf = async (artifact: typeof first) =>
    ((await runIn(driver, artifact, {}, { timeoutMs: 30_000 })).outcome.result as { pid: number }).pid;
  const firstPid = await pidOf(first);
  for (let i = 0; i < 64; i++) {
    const other = jsArtifact(`export default () => ${i}`);
    if ((await pidOf(other)) !== firstPid) return { liar: first, other };
  }
  throw new Error('no function routed to the second host');
}

describe('isolate tier: a host that breaks the protocol', () => {
  it.each(['garbage', 'shape', 'status', 'huge-result', 'huge-logs', 'negative'])(
    'a %s reply ends killed/protocol_violation, destroys only that host, and the other host goes on',
    async (lie) => {
      expect(await until(() => driver.pool.pids().length === 2, 10_000)).toBe(true);
      const before = driver.pool.pids();
      const { liar, other: fn } = await twoHosts();
      // A long call on the other host, in flight while the lie arrives.
      const other = runIn(driver, fn, { waitMs: 1500 }, { timeoutMs: 30_000 });
      const lied = await runIn(driver, liar, { lie }, { timeoutMs: 30_000, logBytes: 1024, resultBytes: 1024 });
      expect(lied.outcome.status).toBe('killed');
      expect(lied.outcome.error?.code).toBe('protocol_violation');
      expect(lied.outcome.death).toMatchObject({ cause: 'protocol' });
      const honest = await other;
      expect(honest.outcome.status).toBe('succeeded');
      const survivor = (honest.outcome.result as { pid: number }).pid;
      expect(before).toContain(survivor);
      expect(isAlive(survivor)).toBe(true);
      // Exactly the lying host was replaced.
      expect(await until(() => driver.pool.pids().length === 2 && driver.pool.pids().includes(survivor), 10_000)).toBe(
        true,
      );
      expect(driver.pool.pids().filter((pid) => before.includes(pid))).toEqual([survivor]);
      expect(uncaught).toEqual([]);
    },
  );
});
