/**
 * What an API key may do. `admin` covers the operator's routes (keys, tenants, audit, plugins,
 * approvals, alerts, secrets) and implies every other scope of its own tenant.
 */
export const SCOPES = ['functions:read', 'functions:write', 'invoke', 'executions:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (value: unknown): value is Scope => SCOPES.includes(value as Scope);

/** Whether a key with `scopes` may act under `needed`. */
export const allows = (scopes: readonly Scope[], needed: Scope): boolean =>
  scopes.includes('admin') || scopes.includes(needed);
