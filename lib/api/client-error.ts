/**
 * What a client of the API (the CLI, the web console) makes of an error answer:
 * its status, the code clients switch on, the message for the person, and each
 * problem found. Status 0: the API could not be reached.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}
