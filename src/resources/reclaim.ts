/** Reclamation: when memory runs short, stop the lowest-priority running invocations first (pure). */

export interface RunningUse {
  id: string;
  priority: number;
  /** Memory the invocation holds now (its group's usage), bytes. */
  memoryBytes: number;
  /** When it started (epoch ms): among equals, the youngest has the least work to lose. */
  startedAt: number;
}

/** Bytes to free so that available memory is back at the threshold (0 when there is enough). */
export const memoryShortfall = (availableBytes: number, reclaimBelow: number): number =>
  Math.max(0, reclaimBelow - availableBytes);

/**
 * Victims in the order to stop them: lowest priority first, youngest first within a priority,
 * until their memory covers `needBytes`. Invocations at or above `protectFrom` priority are kept.
 */
export function chooseVictims(
  running: readonly RunningUse[],
  needBytes: number,
  protectFrom = Number.POSITIVE_INFINITY,
): string[] {
  if (needBytes <= 0) return [];
  const order = running
    .filter((r) => r.priority < protectFrom)
    .sort((a, b) => a.priority - b.priority || b.startedAt - a.startedAt);
  const victims: string[] = [];
  let freed = 0;
  for (const r of order) {
    if (freed >= needBytes) break;
    victims.push(r.id);
    freed += r.memoryBytes;
  }
  return victims;
}

/** The error a reclaimed invocation ends with (status killed). */
export const reclaimedError = (needBytes: number) => ({
  code: 'reclaimed' as const,
  message: `stopped to reclaim memory for higher-priority work (node short by ${Math.ceil(needBytes / 1024 / 1024)} MiB); retry later`,
});
