import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { Optional, QueryInteger } from '../validation/field.decorators.js';

export const MAX_PAGE_SIZE = 200;

export class PageQueryDto {
  /** Page number, from 1. */
  @ApiProperty({ type: 'integer', required: false, default: 1 })
  @Optional()
  @QueryInteger()
  @Max(10_000_000)
  @Min(1)
  @IsInt()
  page: number = 1;

  /** Items per page, 1 to 200. */
  @ApiProperty({ type: 'integer', required: false, default: 50, maximum: MAX_PAGE_SIZE })
  @Optional()
  @QueryInteger()
  @Max(MAX_PAGE_SIZE)
  @Min(1)
  @IsInt()
  page_size: number = 50;
}
