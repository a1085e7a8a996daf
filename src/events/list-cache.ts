import { Injectable } from '@nestjs/common';

/** How long a list's total and a page's ids are reused. */
export const LIST_CACHE_TTL_MS = 1_000;
const MAX_REMEMBERED = 10_000;

/**
 * What the events list remembers for a second: each filter's total (for
 * `X-Total-Count`) and each page's ids, never the rows, which are always read
 * fresh. Counting and paging are the expensive parts of a list: on MariaDB
 * with 100,000 events, counting the public list takes 7–10 ms (30 ms with a
 * search) and finding page 1,000 4–6 ms, against 0.4 ms to read a page's
 * rows by id; and the same lists are asked for again and again. Requests
 * that miss at the same moment share one query.
 *
 * So a list is exact as of at most a second ago. This instance forgets
 * everything as soon as it writes an event, so a client sees its own change
 * at once; a change made through another instance shows within a second.
 * (Offset pages shift under concurrent writes anyway: paging through a list
 * was never a snapshot.) A sync client's list (`updated_since`, or ordered by
 * `updated_at`) is never served from here: fresh rows in a second-old page
 * of ids could carry an `updated_at` past a change the page missed, and the
 * client would step over that change for good.
 */
@Injectable()
export class ListCache {
  private readonly entries = new Map<string, { value: Promise<unknown>; expires: number }>();

  remember<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry && entry.expires > now) return entry.value as Promise<T>;
    if (this.entries.size >= MAX_REMEMBERED) this.entries.clear();
    const value = compute();
    this.entries.set(key, { value, expires: now + LIST_CACHE_TTL_MS });
    // A failure is not remembered.
    value.catch(() => this.entries.delete(key));
    return value;
  }

  /** After this instance changes an event: every list may have moved. */
  forget(): void {
    this.entries.clear();
  }
}
