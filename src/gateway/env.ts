import type { Logger } from 'pino';
import type { Principal } from '../tenants/principal.ts';
import type { Tenants } from '../tenants/tenants.ts';

/** Variables the middleware sets on every request's context. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    log: Logger;
    /** Who the request acts as (set by the auth middleware on /v1/*; the open principal without keys). */
    principal: Principal;
    /** The principal's tenant: the namespace every function and execution route works in. */
    tenant: string;
    /** The tenants service (keys, quotas, audit), for routes that need it. */
    tenants: Tenants;
  };
}

/** The tenant a request acts for (`default` where no auth middleware ran: routes mounted alone). */
export const tenantOfContext = (c: { get(key: 'tenant'): string | undefined }): string => c.get('tenant') ?? 'default';
