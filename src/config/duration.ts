const SECONDS_PER_UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a duration such as `300`, `300s`, `5m`, `12h` or `1d` into seconds. */
export function parseDurationSeconds(value: string): number | undefined {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * SECONDS_PER_UNIT[match[2]];
  return seconds > 0 ? seconds : undefined;
}

/** Parses a duration that may also be in milliseconds (`250ms`) into milliseconds; a bare number is seconds. */
export function parseDurationMs(value: string): number | undefined {
  const match = /^(\d{1,9})ms$/.exec(value.trim());
  if (match) return Number(match[1]) > 0 ? Number(match[1]) : undefined;
  const seconds = parseDurationSeconds(value);
  return seconds === undefined ? undefined : seconds * 1000;
}
