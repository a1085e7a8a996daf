import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'isPublic';

/**
 * Opens a route to anonymous callers; every other route needs a valid access
 * token. A public route still authenticates a caller who sends a token (and
 * refuses a bad one), so it can tell the organizer from everyone else.
 */
export const Public = () => SetMetadata(IS_PUBLIC, true);
