import { randomUUID } from 'node:crypto';
import type { Authorizer } from '../access/authorizer.js';
import { type CredentialsRequest, type IssuedCredentials, callerIdentity, sessionDuration, sessionNameFor } from '../domain/credentials.js';
import { roleOutOfScope } from '../domain/role-arn.js';
import { ForbiddenError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import type { Clock, CredentialAuditLog, CredentialIssuer } from '../ports.js';

export interface CredentialDeps {
  authorizer: Authorizer;
  issuer?: CredentialIssuer | undefined;
  audit: CredentialAuditLog;
  clock: Clock;
  assumableRolePath: string;
  /** Accounts whose roles may be handed out, and the partition Fleetline runs in. */
  credentialAccounts: readonly string[];
  partition: string;
}

/**
 * Temporary credentials for a role a rule grants the caller (credentials:issue on
 * the role ARN), in a configured account and partition, under the assumable path.
 * The session carries the caller as its name (plus at most the caller's suffix),
 * SourceIdentity and a tag; a duration above the rule's maximum is refused; every
 * issuance is audited without its secret.
 */
export async function issueCredentials(
  caller: string,
  sourceIp: string,
  request: CredentialsRequest,
  deps: CredentialDeps,
): Promise<IssuedCredentials> {
  const grant = await deps.authorizer.authorize(caller, 'credentials:issue', request.roleArn);
  const outside = roleOutOfScope(request.roleArn, { partition: deps.partition, accounts: deps.credentialAccounts, assumableRolePath: deps.assumableRolePath });
  if (outside) throw new ForbiddenError(outside);
  const rule = grant === 'admin' ? undefined : grant;
  const identity = callerIdentity(caller);
  const durationSeconds = sessionDuration(request.durationSeconds, rule?.maxSessionSeconds);
  if (typeof durationSeconds !== 'number') {
    throw new ValidationError(`durationSeconds ${durationSeconds.problem}`, [{ path: '$.durationSeconds', message: durationSeconds.problem }]);
  }
  const sessionName = sessionNameFor(caller, request.sessionName);
  if (typeof sessionName !== 'string') {
    throw new ValidationError(`sessionName ${sessionName.problem}`, [{ path: '$.sessionName', message: sessionName.problem }]);
  }
  if (!deps.issuer) throw new Error('No credential issuer is configured');
  const credentials = await deps.issuer.assumeRole({
    roleArn: request.roleArn,
    sessionName,
    sourceIdentity: identity.sourceIdentity,
    durationSeconds,
    policy: request.policy,
    externalId: rule?.externalId,
    tags: [{ key: 'fleetline-caller', value: caller.slice(0, 256) }],
  });
  const entry = {
    id: randomUUID(),
    caller,
    roleArn: request.roleArn,
    sessionName,
    issuedAt: deps.clock.now().toISOString(),
    expiration: credentials.expiration,
    sourceIp,
    durationSeconds,
  };
  await deps.audit.record(entry);
  logger.info('Credentials issued', { ...entry }); // the entry holds no secret
  return credentials;
}
