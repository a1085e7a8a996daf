import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { PageQueryDto } from '../../common/pagination/page-query.dto.js';
import { Optional } from '../../common/validation/field.decorators.js';
import { REGISTRATION_STATUSES, type RegistrationStatus } from '../registration.entity.js';

export class ListRegistrationsQueryDto extends PageQueryDto {
  @Optional()
  @ApiProperty({ enum: REGISTRATION_STATUSES, required: false })
  @IsIn(REGISTRATION_STATUSES)
  status?: RegistrationStatus;
}
