/** A confirmation with a human sentence, as the seed's clients expect. */
export class DetailDto {
  /** @example "Successfully logged out" */
  detail: string;
}
