/**
 * Least-loaded placement (a pure policy): which connected worker gets a task, respecting its
 * labels, the tiers the function's runtime needs, and the dispatch mode's capacity rule.
 */
import type { WorkerStatus } from './types.ts';

/** Tiers that can run each runtime (any available one will do); `http` runs anywhere. */
export const RUNTIME_TIERS: Record<string, readonly string[]> = {
  js: ['isolate', 'wasm', 'process', 'docker'],
  wasm: ['wasm'],
  script: ['process', 'docker'],
  container: ['docker'],
  http: [],
};

export interface Candidate {
  id: string;
  status: WorkerStatus;
  connected: boolean;
  draining: boolean;
  mode: 'push' | 'pull';
  /** PUSH: unfinished tasks allowed on the worker. */
  window: number;
  /** PULL: tasks the worker asked for and has not received yet. */
  pullBudget: number;
  /** Unfinished tasks the Master has on this worker. */
  assigned: number;
  concurrency: number;
  labels: Record<string, string>;
  tiers: readonly { name: string; available: boolean }[];
  /** The worker refused a task recently: leave it alone until then (epoch ms). */
  backoffUntil: number;
}

export interface TaskNeeds {
  runtime: string;
  labels: Record<string, string>;
}

/** Whether the worker may receive one more task now, whatever the task. */
export function hasCapacity(c: Candidate, now: number): boolean {
  if (!c.connected || c.draining || c.backoffUntil > now) return false;
  if (c.status !== 'ok' && c.status !== 'degraded') return false;
  return c.mode === 'push' ? c.assigned < c.window : c.pullBudget > 0;
}

export function fits(c: Pick<Candidate, 'labels' | 'tiers'>, task: TaskNeeds): boolean {
  for (const [key, value] of Object.entries(task.labels)) if (c.labels[key] !== value) return false;
  const needed = RUNTIME_TIERS[task.runtime];
  // A worker that reports no tiers (a minimal worker) is trusted to run anything.
  if (!needed || needed.length === 0 || c.tiers.length === 0) return true;
  return c.tiers.some((t) => t.available && needed.includes(t.name));
}

/** The least-loaded eligible worker: ok before degraded, then lowest assigned/concurrency. */
export function pickWorker<C extends Candidate>(candidates: Iterable<C>, task: TaskNeeds, now: number): C | undefined {
  let best: C | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (!hasCapacity(c, now) || !fits(c, task)) continue;
    const score = (c.status === 'degraded' ? 1000 : 0) + c.assigned / Math.max(1, c.concurrency);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}
