import { IsNotEmpty, IsString } from 'class-validator';
import { EmailField, MaxChars, Trim } from '../../common/validation/field.decorators.js';

export class RegisterForEventDto {
  /**
   * 1–200 characters, trimmed.
   * @example "NEW USER"
   */
  @Trim()
  @MaxChars(200)
  @IsNotEmpty({ message: 'name must not be blank' })
  @IsString()
  name: string;

  /** One registration per address and event, regardless of letter case. */
  @EmailField()
  email: string;
}
