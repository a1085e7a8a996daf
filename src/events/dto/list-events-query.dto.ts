import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination/page-query.dto.js';
import { IsZonedDateTime, Optional, QueryBoolean, Trim } from '../../common/validation/field.decorators.js';
import { EVENT_STATUSES, type EventStatus } from '../event.entity.js';

export const EVENT_ORDERINGS = [
  'date_time',
  '-date_time',
  'created_at',
  '-created_at',
  'title',
  '-title',
  'updated_at',
  '-updated_at',
] as const;
export type EventOrdering = (typeof EVENT_ORDERINGS)[number];

/** An unencoded `+` in a query string arrives as a space: read `…T10:00:00 01:00` as `…T10:00:00+01:00`. */
const RestorePlusInOffset = () =>
  Transform(({ value }) => (typeof value === 'string' ? value.replace(/ (\d{2}:\d{2})$/, '+$1') : value));

export class ListEventsQueryDto extends PageQueryDto {
  @Optional()
  @ApiProperty({ enum: EVENT_STATUSES, required: false })
  @IsIn(EVENT_STATUSES)
  status?: EventStatus;

  /** Events at or after this instant (RFC 3339 with a zone). */
  @Optional()
  @RestorePlusInOffset()
  @IsZonedDateTime()
  @ApiProperty({ type: String, format: 'date-time', required: false, example: '2025-01-01T00:00:00Z' })
  from?: string;

  /** Events before this instant (RFC 3339 with a zone). */
  @Optional()
  @RestorePlusInOffset()
  @IsZonedDateTime()
  @ApiProperty({ type: String, format: 'date-time', required: false, example: '2026-01-01T00:00:00Z' })
  to?: string;

  /** `true`: events from now on; `false`: events already past. */
  @Optional()
  @QueryBoolean()
  @IsBoolean({ message: 'upcoming must be true or false' })
  upcoming?: boolean;

  /** Case-insensitive text to find in the title or the location. */
  @Optional()
  @Trim()
  @MaxLength(200)
  @IsString()
  search?: string;

  /** The organizer's username (any letter case). */
  @Optional()
  @MaxLength(150)
  @IsString()
  organizer?: string;

  /**
   * Sync: events whose `updated_at` is at or after this instant (RFC 3339
   * with a zone, read to the millisecond). Send back the `updated_at` of the
   * last event received, with `ordering=updated_at`.
   */
  @Optional()
  @RestorePlusInOffset()
  @IsZonedDateTime()
  @ApiProperty({ type: String, format: 'date-time', required: false, example: '2025-01-09T14:21:56.113Z' })
  updated_since?: string;

  /** `true`: only the caller's events, drafts included (needs a token). */
  @Optional()
  @QueryBoolean()
  @IsBoolean({ message: 'mine must be true or false' })
  mine?: boolean;

  /** Sort order; ties are broken by id. */
  @Optional()
  @ApiProperty({ enum: EVENT_ORDERINGS, required: false, default: 'date_time' })
  @IsIn(EVENT_ORDERINGS)
  ordering: EventOrdering = 'date_time';
}
