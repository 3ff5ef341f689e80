/**
 * Where a callback may go: an http(s) URL whose host the SSRF guard (src/net/destination-guard.ts)
 * admits — the same guard and operator allow-list (`http.allow`) as the http runtime, so private,
 * loopback and metadata addresses are refused unless the operator admits them, and the worker's
 * own API never. The name is resolved once per check; the sender connects to the pinned address.
 */
import { StrataError } from '../core/errors.ts';
import type { AdmittedDestination, DestinationGuard } from '../net/destination-guard.ts';

export interface CallbackTarget {
  url: URL;
  admitted: AdmittedDestination;
}

export type CallbackCheck = (url: string) => Promise<CallbackTarget>;

/** Parse and admit a callback URL (throws invalid_request or destination_forbidden). */
export const guardedCallbackCheck =
  (guard: DestinationGuard): CallbackCheck =>
  async (text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new StrataError('invalid_request', `callback "${text}" is not a URL; send an absolute http(s) URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new StrataError('invalid_request', `callback must be an http or https URL, got ${url.protocol}`);
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const admitted = await guard.admit({ host, port }, { kind: 'any' });
    return { url, admitted };
  };
