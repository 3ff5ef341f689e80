/**
 * Suites that need Docker, root, writable cgroups or bubblewrap call `requirement()` at the top.
 * Where the facility is missing they skip and say why; with STRATA_REQUIRE_ALL=1 (CI) a missing
 * facility fails the suite instead, so CI can never pass by skipping.
 */
import { describe, it } from 'vitest';

export const REQUIRE_ALL = process.env.STRATA_REQUIRE_ALL === '1';

export interface Requirement {
  /** True when the facility is there. */
  ok: boolean;
  /** Why it is missing, in words an operator can act on. */
  reason?: string;
}

/**
 * `describeIf(req, name, fn)` runs the suite when `req.ok`; otherwise it reports a skip with the
 * reason, or a failing test when STRATA_REQUIRE_ALL=1.
 */
export function describeIf(req: Requirement, name: string, fn: () => void): void {
  if (req.ok) {
    describe(name, fn);
    return;
  }
  const why = req.reason ?? 'a required facility is missing';
  if (REQUIRE_ALL) {
    describe(name, () => {
      it(`requires: ${why}`, () => {
        throw new Error(`STRATA_REQUIRE_ALL=1 and this suite cannot run: ${why}`);
      });
    });
  } else {
    console.warn(`[skip] ${name}: ${why}`);
    describe.skip(`${name} (skipped: ${why})`, fn);
  }
}

/**
 * For the rare facility CI cannot install (no Debian or npm package ships it) and whose checks
 * are covered elsewhere: runs when `req.ok`, otherwise skips with the reason printed, even under
 * STRATA_REQUIRE_ALL=1. Say in the suite why it is optional; everything else uses describeIf.
 */
export function describeOptional(req: Requirement, name: string, fn: () => void): void {
  if (req.ok) {
    describe(name, fn);
    return;
  }
  const why = req.reason ?? 'an optional facility is missing';
  console.warn(`[skip] ${name}: ${why} (optional, also under STRATA_REQUIRE_ALL=1)`);
  describe.skip(`${name} (skipped: ${why})`, fn);
}
