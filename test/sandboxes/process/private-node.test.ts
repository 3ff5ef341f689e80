/**
 * The worker's node binary may live under a private directory (a repo cloned into a 0700 home or
 * temp dir). The sandbox's unprivileged user cannot reach it there, so the tier stages a copy it
 * can reach, and node scripts still run.
 */
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf } from '../../support/requirements.ts';
import { processTierRequirement, runScript, startTier, stopTier, type Tier } from './support.ts';

describeIf(processTierRequirement(), 'process tier: node under a private directory', () => {
  const privateDir = mkdtempSync(join(tmpdir(), 'strata-private-'));
  const node = join(privateDir, 'bin', 'node');
  let tier: Tier;
  beforeAll(async () => {
    mkdirSync(join(privateDir, 'bin'));
    try {
      linkSync(process.execPath, node);
    } catch {
      copyFileSync(process.execPath, node);
    }
    chmodSync(privateDir, 0o700);
    tier = await startTier('privnode', { node });
  });
  afterAll(async () => {
    await stopTier(tier);
    rmSync(privateDir, { recursive: true, force: true });
  });

  it('stages a reachable node binary and runs node scripts with it', async () => {
    const staged = tier.driver.interpreterPath('node');
    expect(staged).not.toBe(node);
    expect(existsSync(staged)).toBe(true);
    const r = await runScript(
      tier,
      { interpreter: 'node', source: 'console.log(JSON.stringify(process.version))' },
      null,
      {
        memoryMb: 256,
      },
    );
    expect(r.outcome.status).toBe('succeeded');
    expect(r.outcome.result).toBe(process.version);
    await stopTier(tier);
    // The staged binary goes with the tier.
    expect(existsSync(staged)).toBe(false);
    tier = await startTier('privnode', { node });
  });
});
