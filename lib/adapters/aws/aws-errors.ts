import {
  DependencyError,
  type FleetlineError,
  ForbiddenError,
  ThrottledError,
  UnprocessableError,
  ValidationError,
} from '../../errors.js';
import { credentialsProblem } from './credential-errors.js';

/**
 * AWS SDK errors turned into answers a caller can act on: a 4xx that says what
 * to change, a 503 when Fleetline's own credentials are missing or refused
 * (credential-errors.ts), or a 502 naming the dependency. Messages are ours (AWS's own text
 * is quoted only for validation problems, which carry no secret).
 */
const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);

const nameOf = (error: unknown) => (error as Error)?.name ?? 'Error';
const messageOf = (error: unknown) => String((error as Error)?.message ?? '').slice(0, 300);

export interface StsContext {
  roleArn: string;
  /** Where the role came from, for the message: `roleArn` of a request, a group's `targetRoleArn`, … */
  field: string;
}

/**
 * What STS answered, for a message that must quote it (a hook role it would not
 * let Fleetline assume): its error code and text, with the session STS names
 * as the caller (Fleetline's own role) left out.
 */
export function stsAnswer(error: unknown): string {
  const text = messageOf(error).replace(/arn:aws[\w-]*:sts::\d{12}:assumed-role\/\S+/g, "Fleetline's role session");
  return text ? `${nameOf(error)}: ${text}` : nameOf(error);
}

/** The error a caller can act on, carrying STS's own answer as its `cause`. */
export function fromStsError(error: unknown, context: StsContext): FleetlineError {
  const mapped = stsErrorFor(error, context);
  mapped.cause = stsAnswer(error);
  return mapped;
}

function stsErrorFor(error: unknown, { roleArn, field }: StsContext): FleetlineError {
  const unconfigured = credentialsProblem(error, 'STS');
  if (unconfigured) return unconfigured;
  const name = nameOf(error);
  const message = messageOf(error);
  if ((name === 'AccessDenied' || name === 'AccessDeniedException') && field !== 'roleArn') {
    return new UnprocessableError(`STS refused to let Fleetline assume the ${field} ${roleArn}: the role's trust policy must allow Fleetline's role`);
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new ForbiddenError(`STS refused to let Fleetline assume ${roleArn}: the role's trust policy must allow Fleetline's API role (with the ExternalId, if the rule sets one)`);
  }
  if (name === 'MalformedPolicyDocument' || name === 'MalformedPolicyDocumentException' || name === 'PackedPolicyTooLarge' || name === 'PackedPolicyTooLargeException') {
    return new ValidationError(`STS rejected the session policy: ${message}`, [{ path: '$.policy', message }]);
  }
  if (name === 'ValidationError' && /chain/i.test(message)) {
    return new ValidationError(
      'durationSeconds must be at most 3600: Fleetline itself runs as an assumed role, and AWS limits sessions assumed from a role session (role chaining) to 1 hour',
      [{ path: '$.durationSeconds', message: 'must be at most 3600 (role chaining limit)' }],
    );
  }
  if (name === 'ValidationError' && /MaxSessionDuration|DurationSeconds/i.test(message)) {
    return new ValidationError(`durationSeconds is longer than the maximum session duration of ${roleArn}: ask for less, or raise the role's MaxSessionDuration`, [
      { path: '$.durationSeconds', message: "exceeds the role's MaxSessionDuration" },
    ]);
  }
  if (name === 'ValidationError') return new ValidationError(`STS rejected the request for ${roleArn}: ${message}`);
  if (name === 'RegionDisabledException') {
    return new UnprocessableError(`STS is not activated in this region for the account of ${field} ${roleArn}: activate the region in that account's IAM settings`);
  }
  if (THROTTLED.has(name)) return new ThrottledError('STS is throttling requests; retry after a few seconds with backoff');
  return new DependencyError(`STS failed to assume ${roleArn} (${name}); retry later`);
}

export interface Ec2Context {
  region: string | undefined;
  roleArn: string | undefined;
}

export function fromEc2Error(error: unknown, { region, roleArn }: Ec2Context): FleetlineError {
  const unconfigured = credentialsProblem(error, 'EC2');
  if (unconfigured) return unconfigured;
  const name = nameOf(error);
  const where = `in ${region ?? "Fleetline's region"}${roleArn ? ` as ${roleArn}` : ''}`;
  if (name === 'UnauthorizedOperation' || name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new UnprocessableError(`EC2 refused DescribeInstances ${where}: ${roleArn ? "the group's targetRoleArn" : "Fleetline's role"} needs ec2:DescribeInstances`);
  }
  if (name === 'AuthFailure' || name === 'OptInRequired') {
    return new UnprocessableError(`EC2 did not accept the credentials ${where} (${name}): check that the group's region is enabled for the account`);
  }
  // No such host: Node's own DNS error (code ENOTFOUND), as the SDK's HTTP handler passes it on.
  if (name === 'UnknownEndpoint' || (error as NodeJS.ErrnoException)?.code === 'ENOTFOUND') {
    return new UnprocessableError(`EC2 has no endpoint ${where}: check the group's region`);
  }
  if (THROTTLED.has(name)) return new ThrottledError('EC2 is throttling DescribeInstances; retry after a few seconds with backoff');
  return new DependencyError(`EC2 DescribeInstances failed ${where} (${name}); retry later`);
}
