/**
 * IP addresses and CIDR blocks as numbers (pure). Only canonical forms are accepted: dotted-quad
 * IPv4 and RFC 4291 IPv6 text, so a destination is always classified from the address the
 * resolver returned, never from a creative spelling ("0x7f.1", "2130706433") of the request.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Ip {
  family: Family;
  /** The address as a 32- or 128-bit number. */
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** The network address (host bits cleared). */
  base: bigint;
  bits: number;
}

const width = (family: Family): number => (family === 4 ? 32 : 128);

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseV6(text: string): bigint {
  let head = text;
  let tail: bigint | undefined;
  // An embedded IPv4 tail ("::ffff:1.2.3.4") is two groups.
  const lastColon = head.lastIndexOf(':');
  if (head.includes('.', lastColon)) {
    tail = parseV4(head.slice(lastColon + 1));
    head = `${head.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const l = groups(left);
  const r = groups(right);
  const all = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  let value = all.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
  if (tail !== undefined) value = (value & ~0xffffffffn) | tail;
  return value;
}

/** Parse an IP literal ("10.0.0.1", "::1", "[::1]"); undefined for anything else (zone ids included). */
export function parseIp(text: string): Ip | undefined {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(t)) return { family: 4, value: parseV4(t) };
  if (isIPv6(t) && !t.includes('%')) return { family: 6, value: parseV6(t) };
  return undefined;
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((ip.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** Parse "a.b.c.d/n", "v6/n" or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = width(ip.family);
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > max) return undefined;
  return { family: ip.family, base: ip.value & maskOf(ip.family, bits), bits };
}

function maskOf(family: Family, bits: number): bigint {
  const w = BigInt(width(family));
  const all = (1n << w) - 1n;
  return bits === 0 ? 0n : (all << (w - BigInt(bits))) & all;
}

export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  return cidr.family === ip.family && (ip.value & maskOf(ip.family, cidr.bits)) === cidr.base;
}

export const formatCidr = (c: Cidr): string => `${formatIp({ family: c.family, value: c.base })}/${c.bits}`;

/** "::ffff:a.b.c.d": an IPv4 address written as IPv6. */
export const isIpv4Mapped = (ip: Ip): boolean => ip.family === 6 && ip.value >> 32n === 0xffffn;
