import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'isPublic';

/** `ignoreToken`: the route never looks at the caller, so an `Authorization` header is not even read. */
export type PublicAccess = true | 'ignore-token';

/**
 * Opens a route to anonymous callers; every other route needs a valid access
 * token. A public route still authenticates a caller who sends a token (and
 * refuses a bad one), so it can tell the organizer from everyone else;
 * unless `ignoreToken` is set, for routes that never use the caller (login,
 * sign-up, token refresh, health), where a client's stale token must not get
 * in the way, as SimpleJWT's views ignored it.
 */
export const Public = (options: { ignoreToken?: boolean } = {}) =>
  SetMetadata<string, PublicAccess>(IS_PUBLIC, options.ignoreToken ? 'ignore-token' : true);
