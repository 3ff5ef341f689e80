/** Chromium for the dashboard tests: Debian's `chromium` driven by playwright-core (no browser download). */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import type { Requirement } from '../support/requirements.ts';

export const CHROMIUM = process.env.STRATA_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumRequirement(): Requirement {
  return existsSync(CHROMIUM)
    ? { ok: true }
    : { ok: false, reason: `no Chromium at ${CHROMIUM} (Debian package chromium, or set STRATA_CHROMIUM)` };
}

export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: Chromium's own sandbox needs user namespaces it may not get.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Where screenshots go (test artifacts; CI keeps the folder). */
export function artifactsDir(): string {
  const dir = process.env.STRATA_ARTIFACTS_DIR ?? join(import.meta.dirname, '..', '..', 'test-artifacts', 'ship');
  mkdirSync(dir, { recursive: true });
  return dir;
}
