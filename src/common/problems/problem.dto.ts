import { ApiProperty } from '@nestjs/swagger';

/** RFC 9457 problem details, the body of every error response. */
export class ProblemDto {
  /** Always `about:blank`: the status code and `title` say what kind of problem it is. */
  @ApiProperty({ example: 'about:blank' })
  type: string;

  /** The HTTP status phrase. */
  @ApiProperty({ example: 'Bad Request' })
  title: string;

  @ApiProperty({ type: 'integer', example: 400 })
  status: number;

  /** A sentence for humans explaining this occurrence. */
  @ApiProperty({ example: 'Invalid input: capacity, date_time.' })
  detail: string;

  /** Validation and duplicate errors only: every bad field with its messages. */
  @ApiProperty({
    required: false,
    type: Object,
    additionalProperties: { type: 'array', items: { type: 'string' } },
    example: { capacity: ['capacity must be an integer number'] },
  })
  errors?: Record<string, string[]>;
}
