import type { Scope } from './scopes.ts';

/** Who a request acts as: the key's id (or the name of a configured token), its tenant and scopes. */
export interface Principal {
  keyId: string;
  tenant: string;
  scopes: readonly Scope[];
}
