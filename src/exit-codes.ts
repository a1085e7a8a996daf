/**
 * Exit codes (from sysexits) for failures that restarting at once will not
 * cure. The cluster's supervisor stops, rather than replacing a worker, when
 * one exits with either.
 */

/** EX_CONFIG: a setting is invalid. */
export const CONFIGURATION_ERROR_EXIT_CODE = 78;

/** EX_UNAVAILABLE: the database did not answer within DATABASE_START_TIMEOUT. */
export const DATABASE_UNREACHABLE_EXIT_CODE = 69;
