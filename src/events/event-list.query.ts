import { foldCase } from '../common/validation/case-fold.js';
import { parseZonedDateTime } from '../common/validation/zoned-date-time.js';
import { type SqlValue, toSqlDateTime } from '../database/sql.js';
import { EVENT_COLUMNS } from './dto/event.dto.js';
import type { EventOrdering, ListEventsQueryDto } from './dto/list-events-query.dto.js';

/** Each ordering, and its tie-break by id in the same direction; every one is served by an index. */
const ORDER_BY: Record<EventOrdering, string> = {
  date_time: 'e.date_time ASC, e.id ASC',
  '-date_time': 'e.date_time DESC, e.id DESC',
  created_at: 'e.created_at ASC, e.id ASC',
  '-created_at': 'e.created_at DESC, e.id DESC',
  title: 'e.title ASC, e.id ASC',
  '-title': 'e.title DESC, e.id DESC',
  updated_at: 'e.updated_at ASC, e.id ASC',
  '-updated_at': 'e.updated_at DESC, e.id DESC',
};

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export interface EventListSql {
  /** The WHERE clause over `events e` and its parameters. */
  filter: string;
  params: SqlValue[];
  order: string;
  /** Whether a filter on `status` lets its index lead. */
  byStatus: boolean;
  /**
   * A sync client's list (`updated_since`): its page of ids is read fresh,
   * never from the list cache, where it may be a second old; only its total
   * may come from there. Ordering by `updated_at` alone is an ordering like
   * the others.
   */
  sync: boolean;
}

/**
 * The filter and order of an events list, as SQL both databases run. The
 * public list never shows drafts; `mine` lists the viewer's own, drafts included.
 */
export function eventListSql(query: ListEventsQueryDto, viewerId: number | undefined, now = new Date()): EventListSql {
  const conditions: string[] = [];
  const params: SqlValue[] = [];
  const where = (condition: string, ...values: SqlValue[]) => {
    conditions.push(condition);
    params.push(...values);
  };
  if (query.mine) where('e.organizer_id = ?', viewerId!);
  else where("e.status <> 'draft'");
  if (query.status) where('e.status = ?', query.status);
  if (query.from) where('e.date_time >= ?', toSqlDateTime(parseZonedDateTime(query.from)!));
  if (query.to) where('e.date_time < ?', toSqlDateTime(parseZonedDateTime(query.to)!));
  if (query.updated_since) {
    where('e.updated_at >= ?', toSqlDateTime(parseZonedDateTime(query.updated_since, 'millisecond')!));
  }
  if (query.upcoming !== undefined) {
    // Event times are whole seconds: comparing with the current second keeps one statement (and total) per second.
    const second = new Date(Math.floor(now.getTime() / 1000) * 1000);
    where(query.upcoming ? 'e.date_time >= ?' : 'e.date_time < ?', toSqlDateTime(second));
  }
  if (query.search) {
    const pattern = containsPattern(query.search);
    where("(LOWER(e.title) LIKE ? ESCAPE '!' OR LOWER(e.location) LIKE ? ESCAPE '!')", pattern, pattern);
  }
  if (query.organizer) {
    where('e.organizer_id = (SELECT id FROM users WHERE username_normalized = ?)', foldCase(query.organizer));
  }
  return {
    filter: conditions.join(' AND '),
    params,
    order: ORDER_BY[query.ordering],
    byStatus: Boolean(query.status),
    sync: query.updated_since !== undefined,
  };
}

/**
 * The ids of a page, from an index alone (a deep OFFSET skips index entries,
 * not rows). Without a status filter, MySQL is kept from the status index: it
 * would pick it for `status <> 'draft'` and then sort every non-draft event,
 * where the ordering's own index (which carries the status) reads just the page.
 */
export function eventPageIdsSql({ filter, order, byStatus }: EventListSql, mysql: boolean): string {
  const hint = mysql && !byStatus ? ' IGNORE INDEX (idx_events_status_date_time)' : '';
  return `SELECT e.id FROM events e${hint} WHERE ${filter} ORDER BY ${order} LIMIT ? OFFSET ?`;
}

/** The rows of a page, by primary key, in the list's order. */
export function eventsByIdSql(count: number, { order }: EventListSql): string {
  const ids = Array.from({ length: count }, () => '?').join(', ');
  return `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id IN (${ids}) ORDER BY ${order}`;
}

export function eventCountSql({ filter }: EventListSql): string {
  return `SELECT COUNT(*) AS total FROM events e WHERE ${filter}`;
}
