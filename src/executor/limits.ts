/**
 * Resolve an invocation's limits once: manifest values, else node defaults; always capped by the
 * node's maximums. Every default a tier needs is filled in here (see ResolvedLimits), so tiers
 * read limits and never keep defaults of their own.
 */
import type { Config } from '../config/schema.ts';
import type { Limits, ResolvedLimits } from '../core/limits.ts';

const MiB = 1024 ** 2;

export function resolveLimits(
  requested: Limits,
  node: Config['limits'],
  override: { timeoutMs?: number } = {},
): ResolvedLimits {
  const { default: defaults, max } = node;
  const cap = (value: number, limit: number) => Math.min(value, limit);
  let timeoutMs = cap(requested.timeoutMs ?? defaults.timeout, max.timeout);
  if (override.timeoutMs !== undefined && override.timeoutMs > 0) timeoutMs = Math.min(timeoutMs, override.timeoutMs);
  const resolved: ResolvedLimits = {
    ...requested,
    timeoutMs,
    memoryMb: cap(requested.memoryMb ?? Math.floor(defaults.memory / MiB), Math.floor(max.memory / MiB)),
    logBytes: cap(requested.logBytes ?? defaults.logBytes, max.logBytes),
    resultBytes: cap(defaults.resultBytes, max.resultBytes),
    errorBytes: node.errorBytes,
    pids: cap(requested.pids ?? defaults.pids, max.pids),
    tmpMb: cap(requested.tmpMb ?? Math.floor(defaults.tmp / MiB), Math.floor(max.tmp / MiB)),
  };
  if (requested.cpu !== undefined) resolved.cpu = cap(requested.cpu, max.cpu);
  if (requested.memorySoftMb !== undefined) resolved.memorySoftMb = Math.min(requested.memorySoftMb, resolved.memoryMb);
  return resolved;
}
