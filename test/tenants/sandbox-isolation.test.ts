/**
 * No state crosses tenants in the process and docker tiers (B7): tenant A's script writes
 * /tmp/x and a file in its working directory; tenant B's script of the same source, run right
 * after on the same worker, finds neither. Real tiers: the process tier (bubblewrap + cgroups)
 * and the docker tier (warm containers); each suite skips with its reason when the facility is
 * missing and fails under STRATA_REQUIRE_ALL=1.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lockDaemon, SUITE_START_MS, unlockDaemon } from '../sandboxes/docker/daemon-lock.ts';
import { labelledContainers, uniqueWorkerId } from '../sandboxes/docker/helpers.ts';
import { processTierRequirement } from '../sandboxes/process/support.ts';
import { dockerRequirement } from '../support/docker.ts';
import { describeIf } from '../support/requirements.ts';
import { ADMIN, startTenantWorker, type TenantWorker } from './support.ts';

/** Prints what it finds (earlier tenants' marks), then leaves its own mark in /tmp and its cwd. */
const PROBE = [
  'read -r me',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a JS template
  'found=$(cat /tmp/x 2>/dev/null; cat ./state 2>/dev/null; printf "%s" "${STRATA_PROBE_STATE:-}")',
  'echo "$me" > /tmp/x 2>/dev/null; echo "$me" > ./state 2>/dev/null',
  'export STRATA_PROBE_STATE="$me"',
  'printf "found:[%s]" "$(echo $found)"',
].join('\n');

const ALL = ['functions:read', 'functions:write', 'invoke', 'executions:read'];

function suite(tier: 'process' | 'docker', trust: 'trusted' | 'untrusted', overrides: Record<string, unknown>) {
  let t: TenantWorker;
  let a: string;
  let b: string;
  beforeAll(async () => {
    if (tier === 'docker') await lockDaemon();
    t = await startTenantWorker(overrides);
    a = (await t.key('iso-a', ALL)).key;
    b = (await t.key('iso-b', ALL)).key;
  }, SUITE_START_MS);
  afterAll(async () => {
    try {
      await t?.close();
      if (tier === 'docker') expect(labelledContainers(overrides['docker.workerId'] as string)).toEqual([]);
    } finally {
      if (tier === 'docker') unlockDaemon();
    }
  }, 120_000);

  const run = async (key: string, mark: string) => {
    const res = await t.call(key, 'POST', '/v1/functions/probe/invoke', JSON.stringify(mark));
    const record = (await res.json()) as {
      status: string;
      result: unknown;
      tier: string;
      tenant: string;
      logs: string;
    };
    expect(record.status, record.logs).toBe('succeeded');
    expect(record.tier).toBe(tier);
    return { found: String(record.result), tenant: record.tenant };
  };

  it(`tenant B's identical ${tier} function sees nothing tenant A left in /tmp, its cwd or its environment`, async () => {
    const manifest = {
      name: 'probe',
      runtime: 'script',
      interpreter: 'bash',
      trust,
      source: PROBE,
      permissions: { tmp: true },
    };
    for (const key of [a, b]) {
      const res = await t.call(key, 'POST', '/v1/functions', manifest);
      expect(res.status, await res.clone().text()).toBe(201);
      expect(((await res.json()) as { tier: string }).tier).toBe(tier);
    }
    // Tenant A twice (a warm sandbox would keep its marks), then B, then A and B again.
    const a1 = await run(a, 'mark-of-a');
    expect(a1).toEqual({ found: 'found:[]', tenant: 'iso-a' });
    await run(a, 'mark-of-a');
    const b1 = await run(b, 'mark-of-b');
    expect(b1.tenant).toBe('iso-b');
    expect(b1.found).not.toContain('mark-of-a');
    expect(b1.found).toBe('found:[]');
    const a2 = await run(a, 'mark-of-a');
    expect(a2.found).not.toContain('mark-of-b');
    const b2 = await run(b, 'mark-of-b');
    expect(b2.found).not.toContain('mark-of-a');
    // The admin of the default tenant has no probe at all.
    expect((await t.call(ADMIN, 'POST', '/v1/functions/probe/invoke', '"x"')).status).toBe(404);
  }, 600_000);
}

describeIf(processTierRequirement(), 'tenant isolation in the process tier', () => {
  suite('process', 'trusted', {});
});

describeIf(dockerRequirement(), 'tenant isolation in the docker tier', () => {
  const workerId = uniqueWorkerId('tiso');
  suite('docker', 'untrusted', { 'docker.workerId': workerId, 'docker.poolMin': 0 });
});
