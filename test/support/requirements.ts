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
