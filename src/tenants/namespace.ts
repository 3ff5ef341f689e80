/**
 * Functions are namespaced by tenant. The registry keys a tenant's function by its qualified
 * name: the `default` tenant's `hello` is `hello` (so data from before tenants keeps working),
 * tenant acme's is `acme/hello`. `/` is never part of a function or tenant name, so no name a
 * client sends can reach into another tenant's namespace.
 */
import { StrataError } from '../core/errors.ts';

export const DEFAULT_TENANT = 'default';
export const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function checkTenantId(id: unknown): string {
  if (typeof id !== 'string' || !TENANT_ID.test(id)) {
    throw new StrataError('invalid_request', `a tenant id matches [a-z0-9][a-z0-9-]{0,62}, got ${JSON.stringify(id)}`);
  }
  return id;
}

/** The registry key of `name` (or `name@ref`) in `tenant`'s namespace. */
export function qualify(tenant: string, name: string): string {
  // An encoded slash (%2F) in a path would otherwise name another tenant's function: answer as the
  // registry does for a function that does not exist.
  if (name.includes('/')) {
    const bare = name.split('@')[0] ?? name;
    throw new StrataError('not_found', `no function named "${bare}"; deploy it with POST /v1/functions`, {
      function: bare,
    });
  }
  return tenant === DEFAULT_TENANT ? name : `${tenant}/${name}`;
}

/** The name a tenant knows its function by. */
export function unqualify(tenant: string, key: string): string {
  const prefix = `${tenant}/`;
  return tenant !== DEFAULT_TENANT && key.startsWith(prefix) ? key.slice(prefix.length) : key;
}

/** The tenant a qualified registry key belongs to. */
export function tenantOfKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? DEFAULT_TENANT : key.slice(0, slash);
}

/** The tenant a record, function or task belongs to (records from before tenants: `default`). */
export const tenantOf = (value: { tenant?: string | undefined } | undefined): string => value?.tenant ?? DEFAULT_TENANT;

/** An error's text as the tenant sees it: its own qualified names shown bare. */
export function publicError(err: StrataError, tenant: string): StrataError {
  if (tenant === DEFAULT_TENANT) return err;
  const prefix = `${tenant}/`;
  const strip = (text: string) => text.split(prefix).join('');
  if (!err.message.includes(prefix) && !JSON.stringify(err.details ?? {}).includes(prefix)) return err;
  const details = err.details
    ? Object.fromEntries(Object.entries(err.details).map(([k, v]) => [k, typeof v === 'string' ? strip(v) : v]))
    : undefined;
  return new StrataError(err.code, strip(err.message), details);
}
