/**
 * Where a callback may go. Until the SSRF-guarded client (src/net/destination-guard.ts, another
 * branch) lands, callbacks are limited to http(s) on loopback: 127.0.0.0/8, ::1 and `localhost`.
 * This is the one function to swap for that guard; it never resolves a name or opens a socket.
 */
import { isIP } from 'node:net';
import { StrataError } from '../core/errors.ts';

export type CallbackCheck = (url: string) => URL;

const isLoopback = (host: string): boolean => {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (isIP(bare) === 4) return bare.split('.')[0] === '127';
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
  return false;
};

export const checkCallbackUrl: CallbackCheck = (text) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StrataError('invalid_request', `callback "${text}" is not a URL; send an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StrataError('invalid_request', `callback must be an http or https URL, got ${url.protocol}`);
  }
  if (!isLoopback(url.hostname)) {
    throw new StrataError(
      'destination_forbidden',
      `callback host ${url.hostname} is refused: this worker delivers callbacks to loopback addresses only (127.0.0.0/8, ::1, localhost)`,
    );
  }
  return url;
};
