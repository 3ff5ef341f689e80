export { HttpDriver, type HttpDriverOptions, type PreparedCall, parseCall } from './driver.ts';
export { defaultTransport, type Transport } from './request.ts';
