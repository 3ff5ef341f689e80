/**
 * The circuit breaker, as a pure function over a slot's failure times: a plugin that fails
 * plugins.breakerFailures times within plugins.breakerWindow trips it (the host then disables the
 * plugin and raises a critical alert; an operator's enable clears the count).
 */
import type { Slot } from './slot.ts';

export interface BreakerSettings {
  failures: number;
  windowMs: number;
}

/** Note one failure of `slot`; returns the alert text when this failure trips the breaker. */
export function noteFailure(
  slot: Slot,
  message: string,
  settings: BreakerSettings,
  now = Date.now(),
): string | undefined {
  slot.failures = slot.failures.filter((t) => now - t < settings.windowMs);
  slot.failures.push(now);
  slot.lastError = message;
  if (slot.failures.length < settings.failures || slot.held) return undefined;
  return `plugin ${slot.name} was disabled after ${slot.failures.length} failures within ${Math.round(settings.windowMs / 1000)} s (last: ${message}); enable it again with POST /v1/plugins/${slot.name}/enable`;
}
