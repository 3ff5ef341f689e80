/**
 * Reconnect delay: exponential from `initialMs`, capped at `maxMs`, with a random +-`jitter`
 * fraction so a fleet of workers does not reconnect in lockstep after a Master restart.
 */
export function backoffDelay(
  attempt: number,
  options: { initialMs: number; maxMs: number; jitter: number },
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  const spread = base * options.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}

/** Where a worker starts in its Master list: spread workers over Masters by a hash of their id. */
export function firstMasterIndex(workerId: string, count: number): number {
  if (count <= 1) return 0;
  let h = 2166136261;
  for (let i = 0; i < workerId.length; i++) h = Math.imul(h ^ workerId.charCodeAt(i), 16777619);
  return (h >>> 0) % count;
}
