/**
 * Where plugins are: every sub-folder of plugins.dir, and every plugins.entries path (an entry
 * naming a folder of plugins.dir gives that plugin its config and enabled flag). Each comes with
 * a cheap fingerprint (mtimes and sizes, the entry's settings) the host compares between syncs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';

export interface Discovered {
  folder: string;
  source: 'dir' | 'config';
  enabled: boolean;
  overrides: Record<string, unknown>;
  fingerprint: string;
}

export function discoverPlugins(dir: string, entries: Config['plugins']['entries']): Discovered[] {
  const found = new Map<string, Discovered>();
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const folder = join(dir, name);
      if (name.startsWith('.') || !isDir(folder)) continue;
      found.set(folder, { folder, source: 'dir', enabled: true, overrides: {}, fingerprint: quickPrint(folder) });
    }
  }
  for (const entry of entries) {
    const folder = resolve(entry.path);
    const prior = found.get(folder);
    found.set(folder, {
      folder,
      source: prior?.source ?? 'config',
      enabled: entry.enabled,
      overrides: entry.config,
      fingerprint: `${quickPrint(folder)}|${entry.enabled}|${JSON.stringify(entry.config)}`,
    });
  }
  return [...found.values()];
}

const isDir = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** mtimes of the folder's plugin.json and the folder itself. */
function quickPrint(folder: string): string {
  const parts: string[] = [];
  for (const file of [join(folder, 'plugin.json'), folder]) {
    try {
      const st = statSync(file);
      parts.push(`${st.mtimeMs}:${st.size}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join(',');
}
