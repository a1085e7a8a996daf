import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Which addresses a webhook may be sent to. By default only public unicast
 * addresses: a URL that reaches the server's own loopback, the private
 * network it sits in or a cloud metadata service (169.254.169.254) would let
 * any user make the server call inside its own network (SSRF).
 */

type Cidr = [prefix: number[], bits: number];

/** IPv4 ranges that are not public unicast (IANA's special-purpose registry, RFC 6890 and later). */
const IPV4_BLOCKED: Cidr[] = [
  [[0, 0, 0, 0], 8], // "this network", 0.0.0.0 included
  [[10, 0, 0, 0], 8], // private
  [[100, 64, 0, 0], 10], // carrier-grade NAT
  [[127, 0, 0, 0], 8], // loopback
  [[169, 254, 0, 0], 16], // link-local, cloud metadata services
  [[172, 16, 0, 0], 12], // private
  [[192, 0, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2, 0], 24], // documentation
  [[192, 88, 99, 0], 24], // 6to4 relay anycast
  [[192, 168, 0, 0], 16], // private
  [[198, 18, 0, 0], 15], // benchmarking
  [[198, 51, 100, 0], 24], // documentation
  [[203, 0, 113, 0], 24], // documentation
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved, broadcast included
];

/** Inside global unicast (2000::/3), the IPv6 ranges that are not public. */
const IPV6_BLOCKED: Cidr[] = [
  [[0x20, 0x01, 0x00, 0x00], 23], // IETF protocol assignments (Teredo, ORCHID, …)
  [[0x20, 0x01, 0x0d, 0xb8], 32], // documentation
  [[0x20, 0x02], 16], // 6to4: carries any IPv4 address, private ones included
  [[0x3f, 0xff], 20], // documentation
];

const NAT64_PREFIX = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]; // 64:ff9b::/96
const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]; // ::ffff:0:0/96

function inCidr(bytes: number[], [prefix, bits]: Cidr): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[byte] & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (a zone such as `%eth0` is ignored). */
export function ipv6Bytes(address: string): number[] {
  // A dotted IPv4 tail (`::ffff:10.0.0.1`) becomes its two hexadecimal groups.
  const text = address
    .replace(/%.*$/, '')
    .replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_all, a: string, b: string, c: string, d: string) =>
      [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((group) => group.toString(16)).join(':'),
    );
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [head, rest] = text.split('::');
  const left = groupsOf(head);
  const right = rest === undefined ? [] : groupsOf(rest);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right].flatMap((group) => [group >> 8, group & 0xff]);
}

function isPublicIpv4(bytes: number[]): boolean {
  return !IPV4_BLOCKED.some((cidr) => inCidr(bytes, cidr));
}

function isPublicIpv6(bytes: number[]): boolean {
  const prefix12 = bytes.slice(0, 12);
  // An IPv4 address in IPv6 clothing (mapped, or synthesised by DNS64) is judged as that IPv4 address.
  if (
    prefix12.every((byte, i) => byte === IPV4_MAPPED_PREFIX[i]) ||
    prefix12.every((byte, i) => byte === NAT64_PREFIX[i])
  ) {
    return isPublicIpv4(bytes.slice(12));
  }
  // Only global unicast (2000::/3): this leaves out ::, ::1, IPv4-compatible, unique-local, link-local, site-local, multicast.
  if ((bytes[0] & 0xe0) !== 0x20) return false;
  return !IPV6_BLOCKED.some((cidr) => inCidr(bytes, cidr));
}

/** An IP address (v4, or v6 with or without brackets and zone) that is public unicast. Anything else is false. */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(bare)) return isPublicIpv4(ipv4Bytes(bare));
  if (isIPv6(bare.replace(/%.*$/, ''))) return isPublicIpv6(ipv6Bytes(bare));
  return false;
}

/** Whether a URL's hostname is an IP literal (WHATWG URLs write IPv4 in dotted form and IPv6 in brackets). */
export function ipLiteral(hostname: string): string | undefined {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  return isIPv4(bare) || isIPv6(bare) ? bare : undefined;
}

/** A webhook URL's host is or resolves to an address the policy refuses. */
export class RefusedAddressError extends Error {
  readonly code = 'EWEBHOOKADDRESS';

  constructor() {
    super('the host resolves to a loopback, private, link-local or otherwise non-public address');
  }
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address a host name resolves to (the system resolver, as connections use). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * Resolves a URL's host and checks every address it resolves to (one bad
 * address is enough to refuse: a connection could pick any of them).
 * An IP literal is checked as it is.
 */
export async function resolveAllowed(hostname: string, resolve: Resolver): Promise<ResolvedAddress[]> {
  const literal = ipLiteral(hostname);
  const addresses = literal ? [{ address: literal, family: isIPv4(literal) ? 4 : 6 }] : await resolve(hostname);
  if (addresses.length === 0 || addresses.some(({ address }) => !isPublicAddress(address))) {
    throw new RefusedAddressError();
  }
  return addresses;
}

/** The system resolver (getaddrinfo, as connections use it): every address of the host. */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true });
