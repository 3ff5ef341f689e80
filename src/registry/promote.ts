/**
 * Moving aliases: promote (point `latest` or another alias at a version), rollback (step an
 * alias back to the newest older version), list and delete. Aliases live in AliasTable; the
 * registry's cached `latest` is dropped whenever `latest` moves.
 */
import { StrataError } from '../core/errors.ts';
import { ALIAS_NAME, type Alias, LATEST } from './aliases.ts';
import type { Registry } from './registry.ts';

/** Aliases of a live function; `latest` is always there. */
export function aliasesOf(registry: Registry, name: string): Alias[] {
  const latest = registry.get(name);
  const pointer = registry.aliases.get(name, LATEST);
  const others = registry.aliases.list(name).filter((a) => a.alias !== LATEST);
  return [pointer ?? { alias: LATEST, version: latest.version, updatedAt: latest.createdAt }, ...others];
}

/** The alias of a live function, or not_found. */
export function aliasOf(registry: Registry, name: string, alias: string): Alias {
  const found = aliasesOf(registry, name).find((a) => a.alias === alias);
  if (!found)
    throw new StrataError('not_found', `function "${name}" has no alias "${alias}"`, { function: name, alias });
  return found;
}

/** Point an alias at a live version (`latest`: what an invoke runs). Returns it and where it pointed before. */
export function setAlias(
  registry: Registry,
  name: string,
  alias: string,
  version: number,
): Alias & { previous?: number } {
  if (!ALIAS_NAME.test(alias)) {
    throw new StrataError(
      'invalid_request',
      `alias "${alias}" must match [a-z][a-z0-9-]{0,62} (a letter first, so name@3 stays a version)`,
    );
  }
  const previous = alias === LATEST ? registry.latest(name)?.version : registry.aliases.get(name, alias)?.version;
  registry.get(name, version);
  const set = registry.aliases.set(name, alias, version);
  if (alias === LATEST) registry.forgetLatest(name);
  return previous === undefined ? set : { ...set, previous };
}

export function deleteAlias(registry: Registry, name: string, alias: string): Alias {
  if (alias === LATEST) {
    throw new StrataError(
      'invalid_request',
      '"latest" always names the version an invoke runs; point it at another version (PUT .../aliases/latest) instead',
    );
  }
  const found = aliasOf(registry, name, alias);
  registry.aliases.delete(name, alias);
  return found;
}

/** Point an alias (default `latest`) at the newest live version older than the one it names now. */
export function rollback(registry: Registry, name: string, alias: string = LATEST): Alias & { previous: number } {
  const current = aliasOf(registry, name, alias).version;
  const older = registry
    .versions(name)
    .map((v) => v.version)
    .filter((v) => v < current)
    .pop();
  if (older === undefined) {
    throw new StrataError('conflict', `${name}@${alias} runs version ${current}, and there is no older version`, {
      function: name,
      alias,
      version: current,
    });
  }
  return { ...setAlias(registry, name, alias, older), previous: current };
}
