export { createGateway, createGatewayServer, type GatewayOptions } from './app.ts';
export type { GatewayEnv } from './env.ts';
export { errorResponse, statusOf } from './error-handler.ts';
