/**
 * The hybrid dispatch policy (pure): push while the worker is lightly loaded, pull above the
 * high-water mark, back to push below the low-water mark (the gap stops flapping).
 */
import type { LinkMode, ModePolicy } from './wire.ts';

export function nextMode(policy: ModePolicy, current: LinkMode, load: number, high: number, low: number): LinkMode {
  if (policy !== 'hybrid') return policy;
  if (current === 'push' && load >= high) return 'pull';
  if (current === 'pull' && load <= low) return 'push';
  return current;
}

/**
 * Load in 0..1: the busier of the worker's slots (unfinished tasks / capacity) and the node's
 * CPU when known, so other work on the node also makes the worker pull rather than be pushed.
 */
export function loadOf(unfinished: number, capacity: number, cpuUsage?: number): number {
  const slots = unfinished / Math.max(1, capacity);
  return Math.min(1, Math.max(slots, typeof cpuUsage === 'number' && Number.isFinite(cpuUsage) ? cpuUsage : 0));
}
