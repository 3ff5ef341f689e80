/**
 * Network allow-lists (pure): a function's `permissions.network` and the operator's `http.allow`.
 *
 * Entry forms: `host` (any port), `host:port`, `*.example.com[:port]` (any subdomain, not the
 * apex), an IP literal `10.1.2.3`, `10.1.2.3:443`, `[::1]:8080`, or a CIDR `10.1.2.0/24`,
 * `fd00::/8` (any port). Host names compare case-insensitively without a trailing dot.
 */
import { networkAsk } from '../core/manifest.ts';
import { type Cidr, cidrContains, formatCidr, type Ip, parseCidr, parseIp } from './ip.ts';

export type AllowEntry =
  | { kind: 'cidr'; cidr: Cidr; port?: number; text: string }
  | { kind: 'host'; host: string; wildcard: boolean; port?: number; text: string };

/** What a function may reach: nothing, any public destination, or the listed ones. */
export type NetworkGrant = { kind: 'none' } | { kind: 'any' } | { kind: 'list'; entries: readonly AllowEntry[] };

/** A destination as asked (host name or IP literal) and, once resolved, the address it resolved to. */
export interface Destination {
  host: string;
  port: number;
  address?: Ip;
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** Lower-case, without a trailing dot; undefined when it is not a plausible DNS name. */
export function normalizeHost(host: string): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  return HOST_NAME.test(h) ? h : undefined;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Split "host:port", "[v6]:port", "v6", "host" into host text and optional port text. */
export function splitHostPort(text: string): { host: string; port?: string } {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return { host: text };
    const rest = text.slice(end + 1);
    return rest.startsWith(':') ? { host: text.slice(1, end), port: rest.slice(1) } : { host: text.slice(1, end) };
  }
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const i = text.indexOf(':');
    return { host: text.slice(0, i), port: text.slice(i + 1) };
  }
  return { host: text };
}

export function parseAllowEntry(raw: string): { entry: AllowEntry } | { error: string } {
  const text = raw.trim();
  if (text === '') return { error: 'an empty entry' };
  if (text.includes('/')) {
    const cidr = parseCidr(text);
    return cidr
      ? { entry: { kind: 'cidr', cidr, text: formatCidr(cidr) } }
      : { error: `"${text}" is not a CIDR block like 10.1.2.0/24 or fd00::/8` };
  }
  const { host, port: portText } = splitHostPort(text);
  const port = portText === undefined ? undefined : parsePort(portText);
  if (portText !== undefined && port === undefined) return { error: `"${text}" has an invalid port` };
  const withPort = port === undefined ? {} : { port };
  const ip = parseIp(host);
  if (ip) {
    const cidr = parseCidr(host) as Cidr;
    return { entry: { kind: 'cidr', cidr, ...withPort, text } };
  }
  const wildcard = host.startsWith('*.');
  const name = normalizeHost(wildcard ? host.slice(2) : host);
  if (!name)
    return {
      error: `"${text}" is not a host, host:port, IP address or CIDR block (no schemes, paths or wildcards but a leading "*.")`,
    };
  return { entry: { kind: 'host', host: name, wildcard, ...withPort, text } };
}

/** Parse every entry; errors name the offending entries. */
export function parseAllowList(texts: readonly string[]): { entries: AllowEntry[]; errors: string[] } {
  const entries: AllowEntry[] = [];
  const errors: string[] = [];
  for (const t of texts) {
    const r = parseAllowEntry(t);
    if ('entry' in r) entries.push(r.entry);
    else errors.push(r.error);
  }
  return { entries, errors };
}

/** Does one entry cover the destination? Host entries match the name, CIDR entries the address. */
export function entryCovers(entry: AllowEntry, d: Destination): boolean {
  if (entry.port !== undefined && entry.port !== d.port) return false;
  if (entry.kind === 'cidr') return d.address !== undefined && cidrContains(entry.cidr, d.address);
  const host = normalizeHost(d.host);
  if (!host) return false;
  return entry.wildcard ? host.endsWith(`.${entry.host}`) : host === entry.host;
}

export const listCovers = (entries: readonly AllowEntry[], d: Destination): boolean =>
  entries.some((e) => entryCovers(e, d));

/** The permission forms of a manifest: false | true | {allow: [...]} | the legacy array. */
export type NetworkPermission = boolean | readonly string[] | { allow: readonly string[] };

/**
 * Turn `permissions.network` into a grant, read the one way the executor reads it (networkAsk);
 * errors name entries no tier could enforce. An empty list grants nothing (never "everything").
 */
export function networkGrantOf(permission: NetworkPermission | undefined): { grant: NetworkGrant; errors: string[] } {
  // The cast only drops readonly: networkAsk reads the list, never changes it.
  const { level, allow } = networkAsk(permission as Parameters<typeof networkAsk>[0]);
  if (level === 'none') return { grant: { kind: 'none' }, errors: [] };
  if (level === 'all') return { grant: { kind: 'any' }, errors: [] };
  const { entries, errors } = parseAllowList(allow);
  return { grant: entries.length > 0 ? { kind: 'list', entries } : { kind: 'none' }, errors };
}
