const SECONDS_PER_UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a duration such as `300`, `300s`, `5m`, `12h` or `1d` into seconds. */
export function parseDurationSeconds(value: string): number | undefined {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * SECONDS_PER_UNIT[match[2]];
  return seconds > 0 ? seconds : undefined;
}
