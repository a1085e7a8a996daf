import { IsString, Length, Matches, ValidateBy, type ValidationArguments } from 'class-validator';
import { foldCase } from '../../common/validation/case-fold.js';
import { EmailField } from '../../common/validation/field.decorators.js';

/** Not made of digits only, and not the username (in any letter case). */
function IsAcceptablePassword(): PropertyDecorator {
  return ValidateBy({
    name: 'isAcceptablePassword',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        if (typeof value !== 'string') return false;
        const username = (args?.object as { username?: unknown }).username;
        const sameAsUsername = typeof username === 'string' && foldCase(value) === foldCase(username);
        return !/^\d+$/.test(value) && !sameAsUsername;
      },
      defaultMessage: () => 'password must not be entirely numeric nor the same as the username',
    },
  });
}

export class RegisterUserDto {
  /**
   * 3–150 letters, digits and `@.+-_`; unique regardless of letter case.
   * @example "alice"
   */
  @Matches(/^[\p{L}\p{N}@.+\-_]+$/u, { message: 'username may contain only letters, digits and @.+-_' })
  @Length(3, 150)
  @IsString()
  username: string;

  /**
   * 8–128 characters, not all digits, not the username.
   * @example "correct horse battery"
   */
  @IsAcceptablePassword()
  @Length(8, 128)
  @IsString()
  password: string;

  /**
   * Stored trimmed and lower-cased (the limit applies to that form); unique regardless of letter case.
   * @example "alice@example.com"
   */
  @EmailField()
  email: string;
}
