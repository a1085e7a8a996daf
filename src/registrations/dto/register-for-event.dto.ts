import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { EmailField, Trim } from '../../common/validation/field.decorators.js';

export class RegisterForEventDto {
  /**
   * 1–200 characters, trimmed.
   * @example "NEW USER"
   */
  @Trim()
  @MaxLength(200)
  @IsNotEmpty({ message: 'name must not be blank' })
  @IsString()
  name: string;

  /** One registration per address and event, regardless of letter case. */
  @EmailField()
  email: string;
}
