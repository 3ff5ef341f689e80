import { describe, expect, it } from 'vitest';
import { forbiddenClassOf } from '../../src/net/address-class.ts';
import { entryCovers, networkGrantOf, parseAllowEntry } from '../../src/net/allow-list.ts';
import { cidrContains, formatIp, type Ip, parseCidr, parseIp } from '../../src/net/ip.ts';

const ip = (t: string) => parseIp(t) as Ip;

describe('IP parsing', () => {
  it('accepts canonical literals only and round-trips them', () => {
    expect(formatIp(ip('10.1.2.3'))).toBe('10.1.2.3');
    expect(formatIp(ip('::1'))).toBe('::1');
    expect(formatIp(ip('[fd00:ec2::254]'))).toBe('fd00:ec2::254');
    expect(formatIp(ip('::ffff:127.0.0.1'))).toBe('::ffff:7f00:1');
    expect(formatIp(ip('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    for (const bad of ['0x7f.1', '2130706433', '127.1', '1.2.3.4.5', 'fe80::1%eth0', 'localhost', ''])
      expect(parseIp(bad)).toBeUndefined();
  });
  it('matches CIDR blocks by family', () => {
    const c = parseCidr('10.1.2.0/24');
    expect(c && cidrContains(c, ip('10.1.2.200'))).toBe(true);
    expect(c && cidrContains(c, ip('10.1.3.1'))).toBe(false);
    expect(c && cidrContains(c, ip('::ffff:10.1.2.3'))).toBe(false);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.1.2.3/8')?.base).toBe(ip('10.0.0.0').value);
  });
});

describe('forbidden address classes', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.9.8.7', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['0.0.0.0', 'this-network'],
    ['0.1.2.3', 'this-network'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'],
    ['::ffff:8.8.8.8', 'ipv4-mapped'],
    ['fd00:ec2::254', 'metadata'],
    ['fc00::1', 'unique-local'],
    ['fdff::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['64:ff9b::a00:1', 'ipv4-translated'],
    ['2002:7f00:1::', 'relay-6to4'],
  ])('%s is %s', (address, name) => {
    expect(forbiddenClassOf(ip(address))?.name).toBe(name);
  });
  it('lets public unicast addresses through', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111'])
      expect(forbiddenClassOf(ip(a))).toBeUndefined();
  });
});

describe('allow-list entries', () => {
  it('parses hosts, ports, wildcards, literals and CIDRs; refuses the rest', () => {
    expect(parseAllowEntry('API.Example.com')).toMatchObject({ entry: { kind: 'host', host: 'api.example.com' } });
    expect(parseAllowEntry('api.example.com:443')).toMatchObject({ entry: { kind: 'host', port: 443 } });
    expect(parseAllowEntry('*.example.com')).toMatchObject({ entry: { kind: 'host', wildcard: true } });
    expect(parseAllowEntry('[::1]:8080')).toMatchObject({ entry: { kind: 'cidr', port: 8080 } });
    expect(parseAllowEntry('10.1.2.0/24')).toMatchObject({ entry: { kind: 'cidr', text: '10.1.2.0/24' } });
    for (const bad of ['https://x.com', 'x.com/path', 'x.com:0', 'x.com:99999', '*', 'a b', '10.0.0.0/99'])
      expect(parseAllowEntry(bad)).toHaveProperty('error');
  });
  it('covers by name (and port) or by address', () => {
    const e = (t: string) => (parseAllowEntry(t) as { entry: Parameters<typeof entryCovers>[0] }).entry;
    expect(entryCovers(e('api.example.com:443'), { host: 'API.example.com.', port: 443 })).toBe(true);
    expect(entryCovers(e('api.example.com:443'), { host: 'api.example.com', port: 80 })).toBe(false);
    expect(entryCovers(e('*.example.com'), { host: 'a.b.example.com', port: 1 })).toBe(true);
    expect(entryCovers(e('*.example.com'), { host: 'example.com', port: 1 })).toBe(false);
    expect(entryCovers(e('*.example.com'), { host: 'evilexample.com', port: 1 })).toBe(false);
    expect(entryCovers(e('10.1.2.0/24'), { host: 'x', port: 5, address: ip('10.1.2.3') })).toBe(true);
    expect(entryCovers(e('10.1.2.0/24'), { host: '10.1.2.3', port: 5 })).toBe(false);
  });
  it('reads every manifest form: false, true, {allow}, the legacy array', () => {
    expect(networkGrantOf(false).grant).toEqual({ kind: 'none' });
    expect(networkGrantOf(undefined).grant).toEqual({ kind: 'none' });
    expect(networkGrantOf(true).grant).toEqual({ kind: 'any' });
    expect(networkGrantOf({ allow: ['a.com'] }).grant).toMatchObject({ kind: 'list', entries: [{ host: 'a.com' }] });
    expect(networkGrantOf(['a.com:80']).grant).toMatchObject({ kind: 'list', entries: [{ port: 80 }] });
    expect(networkGrantOf({ allow: [] }).grant).toEqual({ kind: 'none' });
    expect(networkGrantOf({ allow: ['http://a.com'] }).errors).toHaveLength(1);
  });
});
