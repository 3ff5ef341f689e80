import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { StrataError } from '../core/errors.ts';
import { type Config, configSchema } from './schema.ts';

/** Environment variables named by the public contract that do not follow the path rule. */
const ENV_ALIASES: Record<string, string[]> = {
  STRATA_MASTERS: ['link', 'masters'],
};

/** `executor.concurrency` -> `STRATA_EXECUTOR_CONCURRENCY`. */
export const envNameOf = (path: readonly string[]): string =>
  `STRATA_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every setting path, taken from the defaults tree (leaves are non-object values). */
export function settingPaths(
  tree: Record<string, unknown> = configSchema.parse({}),
  prefix: string[] = [],
): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(tree)) {
    const path = [...prefix, key];
    // The policy table is one JSON value, not a variable per cell.
    if (isPlainObject(value) && path.join('.') !== 'policy.table') paths.push(...settingPaths(value, path));
    else paths.push(path);
  }
  return paths;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function envValue(raw: string, path: readonly string[]): unknown {
  const trimmed = raw.trim();
  if (path.join('.') === 'policy.table' || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      throw new StrataError('invalid_config', `${envNameOf(path)} must be JSON: ${trimmed.slice(0, 80)}`);
    }
  }
  return trimmed;
}

/** Alias names win where a path has one (STRATA_MASTERS, not STRATA_LINK_MASTERS). */
const ENV_NAME_OF: Record<string, string> = Object.fromEntries(
  Object.entries(ENV_ALIASES).map(([name, path]) => [path.join('.'), name]),
);

/** The longest prefix of `path` that is a setting, if any. */
function settingOf(path: readonly string[]): string[] | undefined {
  const known = new Set(settingPaths().map((p) => p.join('.')));
  for (let n = path.length; n > 0; n--) {
    const prefix = path.slice(0, n);
    if (known.has(prefix.join('.'))) return prefix;
  }
  return undefined;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** A YAML or JSON file; defaults to $STRATA_CONFIG. */
  file?: string;
  /** Settings that win over file and environment (tests, CLI flags). */
  overrides?: Record<string, unknown>;
}

/** Compile the effective configuration: defaults < file < environment < overrides. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  const file = options.file ?? env.STRATA_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new StrataError('invalid_config', `cannot read the configuration file ${file}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new StrataError(
        'invalid_config',
        `${file} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`,
      );
    }
    if (parsed != null && !isPlainObject(parsed))
      throw new StrataError('invalid_config', `${file} must hold a mapping of settings`);
    Object.assign(raw, parsed ?? {});
    for (const path of settingPaths()) origin.set(path.join('.'), `${file}`);
  }
  const byEnvName = new Map<string, string[]>(settingPaths().map((p) => [envNameOf(p), p]));
  for (const [name, path] of Object.entries(ENV_ALIASES)) byEnvName.set(name, path);
  for (const [name, path] of byEnvName) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, path, envValue(value, path));
    origin.set(path.join('.'), `env ${name}`);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(raw, key.split('.'), value);

  for (const key of Object.keys(options.overrides ?? {})) origin.set(key, 'overrides');

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      // The setting an issue is about: its path, or the JSON-valued setting it lies inside (policy.table).
      const setting = settingOf(issue.path.map(String));
      if (!setting) return `${key || '(root)'}: ${issue.message}`;
      const name = setting.join('.');
      const env = ENV_NAME_OF[name] ?? envNameOf(setting);
      const from = origin.get(name);
      const where = from && from !== `env ${env}` ? `env ${env}; from ${from}` : `env ${env}`;
      return `${key} (${where}): ${issue.message}`;
    });
    // One line (the CLI's errors are one line each); the issues are also in details.
    throw new StrataError('invalid_config', `invalid configuration: ${lines.join('; ')}`, { issues: lines });
  }
  return result.data;
}
