/** The function version a request names: `:name` as `hello`, `hello@3` or `hello@prod`, and the older `?version=N`. */
import { StrataError } from '../../core/errors.ts';
import { LATEST, parseRef } from '../../registry/aliases.ts';
import type { FunctionVersion, Registry } from '../../registry/registry.ts';

export function parseVersion(text: string): number {
  const version = Number(text);
  if (!Number.isInteger(version) || version < 1) {
    throw new StrataError('invalid_request', `version must be a positive integer, got "${text}"`);
  }
  return version;
}

export function resolveFunction(registry: Registry, nameParam: string, versionQuery?: string): FunctionVersion {
  return resolveRef(registry, nameParam, versionQuery).fn;
}

/** The version and the alias it was named through (`latest` for a bare name; none for `name@3`). */
export function resolveRef(
  registry: Registry,
  nameParam: string,
  versionQuery?: string,
): { fn: FunctionVersion; alias?: string } {
  const ref = parseRef(nameParam);
  if (versionQuery !== undefined) {
    if (ref.version !== undefined || ref.alias !== undefined) {
      throw new StrataError('invalid_request', `name either ${nameParam} or ?version=${versionQuery}, not both`);
    }
    ref.version = parseVersion(versionQuery);
  }
  const fn = registry.resolve(ref);
  if (ref.version !== undefined) return { fn };
  return { fn, alias: ref.alias ?? LATEST };
}
