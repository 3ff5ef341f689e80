/** Plugin folders on disk for the plugin suites, and a worker that loads them. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually as eventuallyWithin, startTestWorker, type TestWorker } from '../gateway/support.ts';

export interface PluginSpec {
  name: string;
  version?: string;
  kind: string | string[];
  requires?: Record<string, string>;
  strata?: string;
  config?: Record<string, unknown>;
  /** The module's text: `export default (ctx) => ({ ... })`. */
  source: string;
}

/** Write (or overwrite) a plugin folder `<dir>/<folder ?? name>`. */
export function writePlugin(dir: string, spec: PluginSpec, folder = spec.name): string {
  const path = join(dir, folder);
  mkdirSync(path, { recursive: true });
  writeFileSync(
    join(path, 'plugin.json'),
    JSON.stringify({
      name: spec.name,
      version: spec.version ?? '1.0.0',
      kind: spec.kind,
      main: 'index.mjs',
      requires: spec.requires ?? {},
      strata: spec.strata ?? '>=0.1.0',
      config: spec.config ?? {},
    }),
  );
  writeFileSync(join(path, 'index.mjs'), spec.source);
  return path;
}

export interface PluginWorker extends TestWorker {
  pluginsDir: string;
  json<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** A worker whose plugins.dir is a fresh temp folder, with the plugins written before it starts. */
export async function startPluginWorker(
  plugins: PluginSpec[] = [],
  overrides: Record<string, unknown> = {},
  options: { listen?: boolean } = {},
): Promise<PluginWorker> {
  const pluginsDir = mkdtempSync(join(tmpdir(), 'strata-plugins-'));
  for (const p of plugins) writePlugin(pluginsDir, p);
  const t = await startTestWorker(
    {
      'plugins.dir': pluginsDir,
      'plugins.watch': 100,
      // Generous lifecycle budgets: the shared test machine runs at a load average of 30+.
      'plugins.loadBudget': '60s',
      'plugins.initBudget': '30s',
      ...overrides,
    },
    options.listen !== undefined ? { listen: options.listen } : {},
  );
  return {
    ...t,
    pluginsDir,
    json: async <T>(method: string, path: string, body?: unknown) => {
      const res = await t.call(method, path, body);
      return { status: res.status, body: (await res.json()) as T };
    },
    close: async () => {
      await t.close();
      rmSync(pluginsDir, { recursive: true, force: true });
    },
  };
}

export type Record_ = {
  id: string;
  status: string;
  result?: unknown;
  error?: { code: string; message: string };
  logs: string;
  tier: string | null;
  plugins?: { errors?: { plugin: string; phase: string; message: string }[]; annotations?: Record<string, unknown> };
};

/** gateway/support's eventually, with a default fit for a loaded shared machine (60 s). */
export const eventually = <T>(check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  eventuallyWithin(check, timeoutMs);

/**
 * Resolves when the host reports `name` in `state` (PluginHost.onState), or at once when it is
 * already there: a test waits for the event rather than polling or asserting a wall time.
 */
export function stateReached(
  host: {
    onState(l: (info: { name: string; state: string }) => void): () => void;
    list(): { name: string; state: string }[];
  },
  name: string,
  state: string,
  timeoutMs = 60_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`plugin ${name} did not reach ${state} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = host.onState((info) => {
      if (info.name !== name || info.state !== state) return;
      clearTimeout(timer);
      off();
      resolve();
    });
    if (host.list().some((p) => p.name === name && p.state === state)) {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}
