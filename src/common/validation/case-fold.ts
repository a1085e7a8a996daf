/**
 * A case-insensitive key for usernames and emails. Upper-casing first makes
 * the letters that lower-case differently by context agree: Greek `ς` and `σ`
 * (both `Σ`), `ß` and `ss`. The result can be up to three times longer.
 */
export function foldCase(value: string): string {
  return value.toUpperCase().toLowerCase();
}

/** How emails are stored: trimmed and case-folded, so uniqueness is the same on every database. */
export function normalizeEmail(email: string): string {
  return foldCase(email.trim());
}
