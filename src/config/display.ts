/**
 * Settings as people write them, for every output (`strata config`, `--env`, the start-up
 * summary): durations as "5s", sizes as "6MiB", lists comma-joined for variables, and secrets
 * as `<set>` (or empty when unset) — a secret value is never printed.
 */
import { kindOf, schemaAt } from './kinds.ts';
import { settingPaths } from './load.ts';
import type { Config } from './schema.ts';
import { configSchema } from './schema.ts';
import { formatBytes, formatDuration } from './units.ts';

export const SECRET_SHOWN = '<set>';

const kindAt = (path: readonly string[]) => {
  const schema = schemaAt(configSchema, path);
  return schema ? kindOf(schema) : undefined;
};

/** One setting's value in the form a config file takes (lists stay lists). */
export function displayValue(path: readonly string[], value: unknown): unknown {
  const kind = kindAt(path);
  if (kind === 'secret') {
    const set = Array.isArray(value) ? value.length > 0 : value !== '' && value !== undefined && value !== null;
    return set ? SECRET_SHOWN : Array.isArray(value) ? [] : '';
  }
  if (kind === 'duration' && typeof value === 'number') return formatDuration(value);
  if (kind === 'size' && typeof value === 'number') {
    // `...Bytes` settings take plain byte counts; a round size still reads better with a unit.
    return formatBytes(value);
  }
  return value;
}

/** One setting's value as its STRATA_* variable takes it. */
export function variableValue(path: readonly string[], value: unknown): string {
  const shown = displayValue(path, value);
  if (Array.isArray(shown)) return shown.join(',');
  if (shown !== null && typeof shown === 'object') return JSON.stringify(shown);
  return String(shown);
}

const valueAt = (tree: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], tree);

/** The whole configuration as a file would say it (the shape of `strata config`). */
export function displayConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of settingPaths()) {
    let node = out;
    for (const key of path.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = displayValue(path, valueAt(config, path));
  }
  return out;
}
