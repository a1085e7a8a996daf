import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsIn } from 'class-validator';
import { PageQueryDto } from '../../common/pagination/page-query.dto.js';
import { Optional, QueryBoolean } from '../../common/validation/field.decorators.js';
import { REGISTRATION_STATUSES, type RegistrationStatus } from '../registration.entity.js';

export class ListRegistrationsQueryDto extends PageQueryDto {
  @Optional()
  @ApiProperty({ enum: REGISTRATION_STATUSES, required: false })
  @IsIn(REGISTRATION_STATUSES)
  status?: RegistrationStatus;

  /** `true`: only the registrations checked in; `false`: only those not (yet) checked in. */
  @Optional()
  @QueryBoolean()
  @IsBoolean({ message: 'checked_in must be true or false' })
  checked_in?: boolean;
}
