/**
 * What a claim may hand to one worker (the placement inputs a store needs): the task's labels
 * must all be the worker's, and its runtime must have a tier the worker reports available.
 * The same rule as placement.ts `fits`, given to the store as data so PostgreSQL can apply it in
 * the claim's own statement.
 */
import { fits, RUNTIME_TIERS, type TaskNeeds } from './placement.ts';

export interface ClaimWorker {
  id: string;
  labels: Record<string, string>;
  tiers: readonly { name: string; available: boolean }[];
}

export const fitsClaim = (w: ClaimWorker, task: TaskNeeds): boolean => fits(w, task);

/**
 * The runtimes the worker can run, for a SQL filter: `null` means any (a worker that reports no
 * tiers is trusted to run anything); runtimes not in RUNTIME_TIERS, and those needing no tier,
 * fit every worker (`known` lists the others).
 */
export function claimRuntimes(w: ClaimWorker): { fitting: string[]; known: string[] } | null {
  if (w.tiers.length === 0) return null;
  const known = Object.entries(RUNTIME_TIERS)
    .filter(([, tiers]) => tiers.length > 0)
    .map(([runtime]) => runtime);
  const fitting = known.filter((runtime) => fits(w, { runtime, labels: {} }));
  return { fitting, known };
}
