/**
 * Pure decisions of the warm pool (unit-tested apart from Docker): the pool key, which idle
 * containers to evict, and whether a new container may be made.
 */
import { createHash } from 'node:crypto';
import { type ResolvedLimits, SANDBOX_LIMITS } from '../../src/core/limits.ts';

/** Limits that change the container itself (timeout and log budget do not). */
const CONTAINER_LIMITS = SANDBOX_LIMITS;

/**
 * Containers are shared only between invocations with the same image and container limits, and,
 * when `isolateBy` is set (the warm path always sets the function's digest: a warm container
 * keeps the function's state, so it is never shared between functions), only within that one.
 */
export function poolKey(image: string, limits: ResolvedLimits, isolateBy?: string): string {
  const parts: string[] = [image];
  for (const name of CONTAINER_LIMITS) parts.push(`${name}=${limits[name] ?? ''}`);
  parts.push(`fn=${isolateBy ?? '*'}`);
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 24);
}

export interface PoolEntryView {
  id: string;
  key: string;
  state: 'starting' | 'idle' | 'busy' | 'dead';
  lastUsedAt: number;
}

export interface EvictionSettings {
  now: number;
  idleTimeoutMs: number;
  keyTtlMs: number;
  minPerKey: number;
  /** When each key was last acquired. */
  keyLastUsed: ReadonlyMap<string, number>;
}

/**
 * Idle containers to remove now: past idleTimeout beyond the key's minimum, and every idle
 * container of a key unused for keyTtl (its minimum no longer applies).
 */
export function idleEvictions(entries: readonly PoolEntryView[], s: EvictionSettings): string[] {
  const byKey = new Map<string, PoolEntryView[]>();
  for (const e of entries) {
    const list = byKey.get(e.key) ?? [];
    list.push(e);
    byKey.set(e.key, list);
  }
  const evict: string[] = [];
  for (const [key, list] of byKey) {
    const keyAge = s.now - (s.keyLastUsed.get(key) ?? 0);
    const idle = list.filter((e) => e.state === 'idle').sort((a, b) => b.lastUsedAt - a.lastUsedAt);
    if (keyAge >= s.keyTtlMs) {
      evict.push(...idle.map((e) => e.id));
      continue;
    }
    const live = list.filter((e) => e.state !== 'dead').length;
    let keep = live;
    // Oldest first, never below the minimum.
    for (const e of [...idle].reverse()) {
      if (keep <= s.minPerKey) break;
      if (s.now - e.lastUsedAt >= s.idleTimeoutMs) {
        evict.push(e.id);
        keep--;
      }
    }
  }
  return evict;
}

export type AdmitDecision =
  | { action: 'reuse'; id: string }
  | { action: 'create' }
  | { action: 'evict-then-create'; evictId: string }
  | { action: 'wait' };

/** What acquire() does for `key` given the pool's current entries. */
export function admit(
  entries: readonly PoolEntryView[],
  key: string,
  limits: { maxPerKey: number; maxTotal: number },
): AdmitDecision {
  const mine = entries.filter((e) => e.key === key && e.state !== 'dead');
  const idleMine = mine.filter((e) => e.state === 'idle').sort((a, b) => b.lastUsedAt - a.lastUsedAt)[0];
  if (idleMine) return { action: 'reuse', id: idleMine.id };
  if (mine.length >= limits.maxPerKey) return { action: 'wait' };
  const total = entries.filter((e) => e.state !== 'dead').length;
  if (total < limits.maxTotal) return { action: 'create' };
  const lru = entries.filter((e) => e.state === 'idle' && e.key !== key).sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
  return lru ? { action: 'evict-then-create', evictId: lru.id } : { action: 'wait' };
}
