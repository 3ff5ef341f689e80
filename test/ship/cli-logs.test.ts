/**
 * The CLI on live logs, as a user runs it (a child process against a real worker):
 * `strata logs ID` (stored), `strata logs -f ID` (streamed to the end, exit code from the status)
 * and `strata fn invoke NAME --follow` (streams, then prints the record).
 */

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsFunction, startTestWorker, type TestWorker } from '../gateway/support.ts';
import { itIf, processTierRequirement } from '../sandboxes/process/support.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** The real CLI as a child process (a generous time limit: CLI start-up is slow on a loaded machine). */
function strata(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', MAIN, ...args],
      { env, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

let t: TestWorker;
let url = '';

const post = async (path: string, body: unknown) =>
  (await (
    await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  ).json()) as Record<string, unknown>;

beforeAll(async () => {
  t = await startTestWorker({}, { listen: true });
  url = t.worker.url;
  await post(
    '/v1/functions',
    jsFunction(
      'say',
      'export default (input, ctx) => { ctx.log("one"); ctx.log("two"); if (input === "fail") throw new Error("asked to"); return 7; }',
    ),
  );
  await post('/v1/functions', {
    name: 'count',
    runtime: 'script',
    interpreter: 'sh',
    trust: 'trusted',
    source: 'for i in 1 2 3 4 5; do echo "step $i" >&2; sleep 0.2; done; echo 5',
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('strata logs', () => {
  it('prints stored logs, and follows a finished one to its end at once', async () => {
    const record = await post('/v1/functions/say/invoke', null);
    const plain = await strata(['logs', String(record.id), '--url', url]);
    expect(plain).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });
    const followed = await strata(['logs', '-f', String(record.id), '--url', url]);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe('one\ntwo\n');
    expect(followed.stderr).toContain('ended: succeeded');
    const missing = await strata(['logs', 'no-such-id', '--url', url]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no execution');
  }, 300_000);

  itIf(
    processTierRequirement(),
    'follows a running script live, in order, to its end',
    async () => {
      const { executionId } = (await post('/v1/functions/count/invoke?async=1', null)) as { executionId: string };
      const followed = await strata(['logs', '-f', executionId, '--url', url]);
      expect(followed.code).toBe(0);
      expect(followed.stdout).toBe('step 1\nstep 2\nstep 3\nstep 4\nstep 5\n');
    },
    60_000,
  );
});

describe('strata fn invoke --follow', () => {
  it('streams the logs, then prints the record; exit 1 when it did not succeed', async () => {
    const ok = await strata(['fn', 'invoke', 'say', '--follow', '--url', url]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.startsWith('one\ntwo\n')).toBe(true);
    expect(ok.stdout).toContain('succeeded');
    expect(ok.stdout.match(/one/g)).toHaveLength(1);
    const failed = await strata(['fn', 'invoke', 'say', '--follow', '--data', '"fail"', '--url', url]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('failed');
  }, 300_000);
});
