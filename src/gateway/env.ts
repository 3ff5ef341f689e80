import type { Logger } from 'pino';

/** Variables the middleware sets on every request's context. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    log: Logger;
  };
}
