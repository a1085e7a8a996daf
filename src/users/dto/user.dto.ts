import { ApiProperty } from '@nestjs/swagger';
import type { User } from '../user.entity.js';

/** A user as registration returns it. */
export class UserDto {
  /** @example 1 */
  @ApiProperty({ type: 'integer' })
  id: number;
  /** @example "alice" */
  username: string;
  /** @example "alice@example.com" */
  email: string;
}

/** The caller's own account. */
export class MeDto extends UserDto {
  /** When the account was created (UTC, milliseconds). @example "2025-01-09T14:21:56.113Z" */
  @ApiProperty({ format: 'date-time' })
  date_joined: string;
}

export function toUserDto(user: User): UserDto {
  return { id: user.id, username: user.username, email: user.email };
}

export function toMeDto(user: User): MeDto {
  return { ...toUserDto(user), date_joined: user.dateJoined.toISOString() };
}
