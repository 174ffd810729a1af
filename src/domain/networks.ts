import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Address ranges as admins write them (`10.0.0.0/8`, `2001:db8::/32`, or one address). */

/** An IPv4 address as IPv6 shows it (`::ffff:10.1.2.3`) is the IPv4 address. */
export function plainAddress(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped?.[1] ?? ip;
}

/** Why a CIDR is not one, or null when it is. */
export function cidrProblem(cidr: string): string | null {
  const [address = '', prefix, ...rest] = cidr.split('/');
  if (rest.length > 0) return `${JSON.stringify(cidr)} has more than one "/"`;
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (family === 0) return `${JSON.stringify(cidr)} is not an IPv4 or IPv6 address or network`;
  if (prefix === undefined) return null;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
  const max = family === 4 ? 32 : 128;
  if (!(bits >= 0 && bits <= max)) return `${JSON.stringify(cidr)}: the prefix length must be 0 to ${max}`;
  return null;
}

/** A set of networks to test addresses against. Malformed entries are skipped (they are refused on input). */
export function networkSet(cidrs: readonly string[]): { has(ip: string): boolean } {
  const list = new BlockList();
  for (const cidr of cidrs) {
    if (cidrProblem(cidr) !== null) continue;
    const [address = '', prefix] = cidr.split('/');
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return {
    has(ip) {
      const address = plainAddress(ip);
      if (isIPv4(address)) return list.check(address, 'ipv4');
      if (isIPv6(address)) return list.check(address, 'ipv6');
      return false;
    },
  };
}

/** A JSON array of CIDRs as stored; anything else reads as none. */
export function parseNetworkList(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Addresses that are not on the public internet (RFC 6890's special-purpose registries): loopback, private,
 * shared (CGNAT), link-local (cloud metadata lives at 169.254.169.254), documentation, multicast, reserved.
 */
const NOT_PUBLIC = networkSet([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/3',
  // Unspecified, loopback, and IPv4 inside IPv6 (compatible, mapped: `[::ffff:127.0.0.1]` reads back as `[::ffff:7f00:1]`).
  '::/96',
  '::ffff:0:0/96',
  '::ffff:0:0:0/96',
  // NAT64, 6to4 and Teredo carry an IPv4 address inside: refused whole rather than unpacked.
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '2002::/16',
  '2001::/32',
  '100::/64',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
]);

/** The address a URL's host is written as (`10.1.2.3`, `[::1]` without its brackets), or null for a host name. */
export function literalAddressOf(url: URL): string | null {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isIPv4(host) || isIPv6(host) ? host : null;
}

/** Whether hotprov may call this address on a tenant's behalf: a public one, or one the operator allowed. */
export function mayCallAddress(ip: string, allowed: { has(ip: string): boolean }): boolean {
  // Anything that is not an address at all is refused, not taken for a public one.
  if (!isIPv4(plainAddress(ip)) && !isIPv6(plainAddress(ip))) return false;
  return allowed.has(ip) || !NOT_PUBLIC.has(ip);
}
