import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** Who is calling, as their verified access token says. */
export interface AuthenticatedUser {
  id: number;
  username: string;
  sessionId: string;
  tokenId: string;
}

/** The authenticated caller, or `undefined` on a public route called without a token. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedUser | undefined =>
    context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user ?? undefined,
);
