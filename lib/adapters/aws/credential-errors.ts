import { DependencyNotConfiguredError } from '../../errors.js';

const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'TokenProviderError']);
const BAD_CREDENTIALS = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'ExpiredToken', 'ExpiredTokenException', 'SignatureDoesNotMatch']);

/**
 * When an AWS call failed because this process has no usable credentials, the
 * error that says what to configure; otherwise undefined (the caller rethrows).
 */
export function credentialsProblem(error: unknown, service: string): DependencyNotConfiguredError | undefined {
  const name = (error as Error | undefined)?.name ?? '';
  const fix =
    'set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for the process that runs the API — locally, in the shell that runs npm start';
  if (NO_CREDENTIALS.has(name)) return new DependencyNotConfiguredError(`Fleetline has no AWS credentials to call ${service}: ${fix}`);
  if (BAD_CREDENTIALS.has(name)) return new DependencyNotConfiguredError(`${service} refused Fleetline's AWS credentials (${name}): ${fix}`);
  return undefined;
}
