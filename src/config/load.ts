import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { StrataError } from '../core/errors.ts';
import { isOpenMap, kindOf, schemaAt, shapeOf } from './kinds.ts';
import { nearest } from './nearest.ts';
import { type Config, configSchema } from './schema.ts';
import { bareNumberProblem } from './units.ts';

/** Environment variables named by the public contract that do not follow the path rule. */
const ENV_ALIASES: Record<string, string[]> = {
  STRATA_MASTERS: ['link', 'masters'],
  STRATA_ADMIN_TOKEN: ['tenants', 'adminToken'],
};

/**
 * STRATA_* variables that are not settings (the CLI's, the test suite's): never reported as a
 * misspelt setting.
 */
const OTHER_VARIABLES = new Set([
  'STRATA_CONFIG',
  'STRATA_URL',
  'STRATA_TOKEN',
  'STRATA_REQUIRE_ALL',
  'STRATA_TEST_LOG',
]);

/** `executor.concurrency` -> `STRATA_EXECUTOR_CONCURRENCY`. */
export const envNameOf = (path: readonly string[]): string =>
  `STRATA_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Settings that are one JSON value (a map), not a variable per key. */
const JSON_VALUED = new Set(['policy.table', 'signing.keys', 'review.rules', 'tenants.defaultQuota', 'tenants.quotas']);

/** Every setting path, taken from the defaults tree (leaves are non-object values). */
export function settingPaths(
  tree: Record<string, unknown> = configSchema.parse({}),
  prefix: string[] = [],
): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(tree)) {
    const path = [...prefix, key];
    // The policy table is one JSON value, not a variable per cell.
    if (isPlainObject(value) && !JSON_VALUED.has(path.join('.'))) paths.push(...settingPaths(value, path));
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
  if (JSON_VALUED.has(path.join('.')) || trimmed.startsWith('{') || trimmed.startsWith('[')) {
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

/** The variable a setting is read from. */
export const variableOf = (path: readonly string[]): string => ENV_NAME_OF[path.join('.')] ?? envNameOf(path);

/** The longest prefix of `path` that is a setting, if any. */
function settingOf(path: readonly string[]): string[] | undefined {
  const known = new Set(settingPaths().map((p) => p.join('.')));
  for (let n = path.length; n > 0; n--) {
    const prefix = path.slice(0, n);
    if (known.has(prefix.join('.'))) return prefix;
  }
  return undefined;
}

/**
 * Problems zod cannot see in what people wrote: keys that are not settings (zod would drop them
 * silently) and bare numbers where a unit is needed. `units` is false for overrides from code.
 */
function checkTree(
  tree: Record<string, unknown>,
  prefix: string[],
  where: string,
  units: boolean,
  problems: string[],
): void {
  const schema = prefix.length ? schemaAt(configSchema, prefix) : configSchema;
  const shape = schema ? shapeOf(schema) : undefined;
  if (!schema || !shape || isOpenMap(schema)) return;
  for (const [key, value] of Object.entries(tree)) {
    const path = [...prefix, key];
    const child = shape[key];
    if (!child) {
      problems.push(unknownKey(path, Object.keys(shape), where));
      continue;
    }
    const kind = kindOf(child);
    if (units && (kind === 'duration' || kind === 'size')) {
      const problem = bareNumberProblem(value, kind, key);
      if (problem) problems.push(`${path.join('.')} (${where}; env ${variableOf(path)}): ${problem}`);
    } else if (isPlainObject(value)) {
      checkTree(value, path, where, units, problems);
    }
  }
}

function unknownKey(path: string[], siblings: string[], where: string): string {
  const name = path.join('.');
  const key = path[path.length - 1] as string;
  const near = nearest(key, siblings);
  let hint = near ? `did you mean ${[...path.slice(0, -1), near].join('.')}?` : undefined;
  if (!hint) {
    // Maybe in the wrong section: the same key name elsewhere, or the nearest full name.
    const all = settingPaths();
    const elsewhere =
      all.find((p) => p[p.length - 1] === key)?.join('.') ??
      nearest(
        name,
        all.map((p) => p.join('.')),
      );
    if (elsewhere) hint = `did you mean ${elsewhere}?`;
  }
  return `${name} (${where}) is not a setting — ${hint ?? 'see docs/configuration.md for the settings there are'}`;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** A YAML or JSON file (serve --config); defaults to $STRATA_CONFIG. */
  file?: string;
  /** Settings that win over file and environment (tests, CLI flags). Numbers are milliseconds and bytes. */
  overrides?: Record<string, unknown>;
}

function readConfigFile(file: string, namedBy: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StrataError(
      'invalid_config',
      code === 'ENOENT'
        ? `no configuration file at ${file} (${namedBy === '--config' ? 'given with --config' : `named by ${namedBy}; create it or unset ${namedBy}`})`
        : `cannot read the configuration file ${file} (named by ${namedBy}): ${code ?? (err as Error).message}`,
    );
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
  return (parsed ?? {}) as Record<string, unknown>;
}

/** Compile the effective configuration: defaults < file < environment < overrides. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  const problems: string[] = [];
  const file = options.file ?? env.STRATA_CONFIG;
  if (file) {
    const parsed = readConfigFile(file, options.file ? '--config' : 'STRATA_CONFIG');
    checkTree(parsed, [], `in ${file}`, true, problems);
    Object.assign(raw, parsed);
    for (const path of settingPaths()) origin.set(path.join('.'), `${file}`);
  }
  const byEnvName = new Map<string, string[]>(settingPaths().map((p) => [envNameOf(p), p]));
  for (const [name, path] of Object.entries(ENV_ALIASES)) byEnvName.set(name, path);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('STRATA_') || byEnvName.has(name) || OTHER_VARIABLES.has(name) || !value) continue;
    // An unknown variable close to a setting's is a typo that would be ignored silently. The
    // names share "STRATA_" and are long: only two edits away counts, so other tools' variables pass.
    const near = nearest(name, byEnvName.keys(), 2);
    if (near) problems.push(`${name} is not a setting — did you mean ${near}?`);
  }
  for (const [name, path] of byEnvName) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const parsed = envValue(value, path);
    const schema = schemaAt(configSchema, path);
    const kind = schema ? kindOf(schema) : undefined;
    if (kind === 'duration' || kind === 'size') {
      const problem = bareNumberProblem(parsed, kind, path[path.length - 1] as string);
      if (problem) problems.push(`${path.join('.')} (env ${name}): ${problem}`);
    }
    setPath(raw, path, parsed);
    origin.set(path.join('.'), `env ${name}`);
  }
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(overrides, key.split('.'), value);
  checkTree(overrides, [], 'overrides', false, problems);
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(raw, key.split('.'), value);
  for (const key of Object.keys(options.overrides ?? {})) origin.set(key, 'overrides');

  if (problems.length) {
    throw new StrataError('invalid_config', `invalid configuration: ${problems.join('; ')}`, { issues: problems });
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      // The setting an issue is about: its path, or the JSON-valued setting it lies inside (policy.table).
      const setting = settingOf(issue.path.map(String));
      if (!setting) return `${key || '(root)'}: ${issue.message}`;
      const name = setting.join('.');
      const variable = variableOf(setting);
      const from = origin.get(name);
      const where = from && from !== `env ${variable}` ? `env ${variable}; from ${from}` : `env ${variable}`;
      return `${key} (${where}): ${issue.message}`;
    });
    // One line (the CLI's errors are one line each); the issues are also in details.
    throw new StrataError('invalid_config', `invalid configuration: ${lines.join('; ')}`, { issues: lines });
  }
  return result.data;
}
