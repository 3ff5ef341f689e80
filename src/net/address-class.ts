/**
 * Address ranges a sandbox must never reach unless the operator's allow-list admits them (the
 * SSRF guard's table, pure). Most specific first, so 169.254.169.254 is named "metadata", not
 * "link-local".
 */
import { type Cidr, cidrContains, type Ip, parseCidr } from './ip.ts';

export interface AddressClass {
  /** Short name used in refusals ("loopback", "private", ...). */
  name: string;
  cidr: string;
}

const TABLE: readonly AddressClass[] = [
  { name: 'metadata', cidr: '169.254.169.254/32' },
  { name: 'metadata', cidr: 'fd00:ec2::254/128' },
  { name: 'this-network', cidr: '0.0.0.0/8' },
  { name: 'private', cidr: '10.0.0.0/8' },
  { name: 'cgnat', cidr: '100.64.0.0/10' },
  { name: 'loopback', cidr: '127.0.0.0/8' },
  { name: 'link-local', cidr: '169.254.0.0/16' },
  { name: 'private', cidr: '172.16.0.0/12' },
  { name: 'ietf-protocol', cidr: '192.0.0.0/24' },
  { name: 'documentation', cidr: '192.0.2.0/24' },
  { name: 'relay-6to4', cidr: '192.88.99.0/24' },
  { name: 'private', cidr: '192.168.0.0/16' },
  { name: 'benchmarking', cidr: '198.18.0.0/15' },
  { name: 'documentation', cidr: '198.51.100.0/24' },
  { name: 'documentation', cidr: '203.0.113.0/24' },
  { name: 'multicast', cidr: '224.0.0.0/4' },
  { name: 'broadcast', cidr: '255.255.255.255/32' },
  { name: 'reserved', cidr: '240.0.0.0/4' },
  { name: 'unspecified', cidr: '::/128' },
  { name: 'loopback', cidr: '::1/128' },
  { name: 'ipv4-mapped', cidr: '::ffff:0:0/96' },
  // Deprecated IPv4-compatible addresses (::a.b.c.d) embed an IPv4 address too.
  { name: 'ipv4-compatible', cidr: '::/96' },
  { name: 'ipv4-translated', cidr: '64:ff9b::/96' },
  { name: 'ipv4-translated', cidr: '64:ff9b:1::/48' },
  { name: 'discard', cidr: '100::/64' },
  { name: 'teredo', cidr: '2001::/32' },
  { name: 'documentation', cidr: '2001:db8::/32' },
  { name: 'relay-6to4', cidr: '2002::/16' },
  { name: 'unique-local', cidr: 'fc00::/7' },
  { name: 'link-local', cidr: 'fe80::/10' },
  { name: 'site-local', cidr: 'fec0::/10' },
  { name: 'multicast', cidr: 'ff00::/8' },
];

const PARSED: readonly (AddressClass & { block: Cidr })[] = TABLE.map((c) => ({
  ...c,
  block: parseCidr(c.cidr) as Cidr,
}));

/** The forbidden class an address falls in, or undefined for a public unicast address. */
export function forbiddenClassOf(ip: Ip): AddressClass | undefined {
  const hit = PARSED.find((c) => cidrContains(c.block, ip));
  return hit ? { name: hit.name, cidr: hit.cidr } : undefined;
}

/** The table, for docs and tests. */
export const FORBIDDEN_RANGES: readonly AddressClass[] = TABLE;
