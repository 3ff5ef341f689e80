/**
 * The SSRF guard: decides whether a sandbox may reach a destination, and pins the address.
 *
 * A destination is admitted only if (1) the function's grant covers it, and (2) every address
 * its name resolves to is a public unicast address, or one the operator's allow-list
 * (`http.allow`) admits, and (3) it is none of the protected destinations (the worker's own
 * API), whatever the allow-lists say. The name is resolved once; the caller connects to exactly
 * the address returned here (no second lookup, so DNS rebinding cannot swap it).
 */
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import { StrataError } from '../core/errors.ts';
import { forbiddenClassOf } from './address-class.ts';
import {
  type AllowEntry,
  type Destination,
  listCovers,
  type NetworkGrant,
  normalizeHost,
  parseAllowList,
} from './allow-list.ts';
import { formatIp, type Ip, isIpv4Mapped, parseIp } from './ip.ts';

/** Name -> addresses. Injected in tests (a fake answering forbidden addresses). */
export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

/** The system resolver (getaddrinfo), every address in the order it answers. */
export const systemResolver: Resolver = (host) => lookup(host, { all: true, order: 'verbatim' });

export interface DestinationGuardOptions {
  /** The operator allow-list (`http.allow`): CIDRs and host names whose forbidden addresses are admitted. */
  operatorAllow?: readonly string[];
  resolve?: Resolver;
  /** Destinations never admitted (the worker's own listener), read at every check. */
  protected?: () => readonly { host: string; port: number }[];
  /** Bound on one resolution. */
  resolveTimeoutMs?: number;
}

export interface AdmittedDestination {
  /** The host as asked (name or literal). */
  host: string;
  port: number;
  /** The one address to connect to. */
  address: string;
  family: 4 | 6;
}

const forbidden = (message: string, details?: Record<string, unknown>) =>
  new StrataError('destination_forbidden', message, details);

export class DestinationGuard {
  readonly #operator: readonly AllowEntry[];
  readonly #resolve: Resolver;
  readonly #protected: () => readonly { host: string; port: number }[];
  readonly #timeoutMs: number;

  constructor(options: DestinationGuardOptions = {}) {
    const { entries, errors } = parseAllowList(options.operatorAllow ?? []);
    if (errors.length > 0)
      throw new StrataError(
        'invalid_config',
        `http.allow (STRATA_HTTP_ALLOW) has invalid entries: ${errors.join('; ')}`,
      );
    this.#operator = entries;
    this.#resolve = options.resolve ?? systemResolver;
    this.#protected = options.protected ?? (() => []);
    this.#timeoutMs = options.resolveTimeoutMs ?? 5000;
  }

  /** Check a destination against a grant; throws StrataError('destination_forbidden') with the reason. */
  async admit(target: { host: string; port: number }, grant: NetworkGrant): Promise<AdmittedDestination> {
    const where = `${target.host}:${target.port}`;
    if (grant.kind === 'none') throw forbidden(`${where}: the function has no network permission`);
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535)
      throw forbidden(`${where}: invalid port`);
    const literal = parseIp(target.host);
    const name = literal ? undefined : normalizeHost(target.host);
    if (!literal && !name) throw forbidden(`${where}: not a host name or IP address`);
    const host = literal ? target.host : (name as string);

    // The function's own list can be checked by name before anything is resolved.
    const named: Destination = { host, port: target.port };
    const byName = grant.kind === 'any' || listCovers(grant.entries, named);
    if (!byName && grant.kind === 'list' && grant.entries.every((e) => e.kind === 'host'))
      throw forbidden(`${where} is not in the function's permissions.network allow-list`);

    const addresses = literal ? [literal] : await this.#lookup(host, where);
    for (const ip of addresses) this.#checkAddress(host, target.port, ip, where);
    const pick = addresses.find(
      (ip) => byName || (grant.kind === 'list' && listCovers(grant.entries, { ...named, address: ip })),
    );
    if (!pick) throw forbidden(`${where} is not in the function's permissions.network allow-list`);
    return { host, port: target.port, address: formatIp(pick), family: pick.family };
  }

  async #lookup(host: string, where: string): Promise<Ip[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(forbidden(`${where}: name resolution took longer than ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    let answers: readonly { address: string; family: number }[];
    try {
      answers = await Promise.race([this.#resolve(host), timeout]);
    } catch (err) {
      if (err instanceof StrataError) throw err;
      throw forbidden(`${where}: the name does not resolve (${(err as Error).message})`);
    } finally {
      clearTimeout(timer);
    }
    const ips = answers.map((a) => parseIp(a.address));
    if (ips.length === 0) throw forbidden(`${where}: the name resolves to no address`);
    if (ips.some((ip) => ip === undefined))
      throw forbidden(`${where}: the resolver answered something that is not an address`);
    return ips as Ip[];
  }

  /** Every address of a name must pass: a name answering one public and one private address is refused. */
  #checkAddress(host: string, port: number, ip: Ip, where: string): void {
    const text = formatIp(ip);
    if (this.#protected().some((p) => p.port === port && reachesListener(p.host, ip)))
      throw forbidden(`${where} (${text}) is the worker's own API and is never reachable from a sandbox`);
    const cls = forbiddenClassOf(ip);
    if (!cls) return;
    const d: Destination = { host, port, address: ip };
    if (listCovers(this.#operator, d)) return;
    const mapped = isIpv4Mapped(ip) ? ' (an IPv4 address written as IPv6)' : '';
    throw forbidden(
      `${where} resolves to ${text}, a ${cls.name} address${mapped} (${cls.cidr}); an operator can admit it with http.allow (STRATA_HTTP_ALLOW)`,
      { address: text, class: cls.name },
    );
  }
}

const isLoopback = (x: Ip) => (x.family === 4 ? x.value >> 24n === 127n : x.value === 1n);

/**
 * Whether a connection to `ip` reaches a listener bound to `listenHost`: the same address, any
 * loopback address for a loopback listener, any local address for a wildcard (0.0.0.0, ::) one.
 */
function reachesListener(listenHost: string, ip: Ip): boolean {
  const listen = parseIp(listenHost) ?? (listenHost === 'localhost' ? parseIp('127.0.0.1') : undefined);
  if (!listen) return false;
  if (listen.value === 0n)
    return isLoopback(ip) || localAddresses().some((a) => a.family === ip.family && a.value === ip.value);
  if (isLoopback(listen)) return isLoopback(ip);
  return listen.family === ip.family && listen.value === ip.value;
}

function localAddresses(): Ip[] {
  return Object.values(networkInterfaces())
    .flat()
    .map((i) => (i ? parseIp(i.address) : undefined))
    .filter((x): x is Ip => x !== undefined);
}

/** A `lookup` for node:http / node:net that answers only the admitted address (no second resolution). */
export function pinnedLookup(admitted: AdmittedDestination): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: admitted.address, family: admitted.family }]);
    else callback(null, admitted.address, admitted.family);
  }) as LookupFunction;
}
