import { DEFAULT_IPV6_SUBNET_PREFIX, normalizeIp } from '@nestjs/throttler';

/**
 * The address a client is known by, for rate limits and anonymous
 * idempotency keys alike: the socket's, or the one a trusted proxy reports
 * (`TRUSTED_PROXIES`; Fastify's `request.ip` applies it), with an IPv6
 * address widened to its /64, the block one client usually holds.
 */
export function clientAddressOf(request: { ip: string }): string {
  return normalizeIp(request.ip, DEFAULT_IPV6_SUBNET_PREFIX);
}
