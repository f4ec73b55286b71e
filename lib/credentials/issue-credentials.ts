import { randomUUID } from 'node:crypto';
import type { Authorizer } from '../access/authorizer.js';
import { type CredentialsRequest, type IssuedCredentials, callerIdentity, clampDuration, underRolePath } from '../domain/credentials.js';
import { ForbiddenError } from '../errors.js';
import { logger } from '../logger.js';
import type { Clock, CredentialAuditLog, CredentialIssuer } from '../ports.js';

export interface CredentialDeps {
  authorizer: Authorizer;
  issuer?: CredentialIssuer | undefined;
  audit: CredentialAuditLog;
  clock: Clock;
  assumableRolePath: string;
}

/**
 * Temporary credentials for a role a rule grants the caller (credentials:issue on
 * the role ARN). The session carries the caller as its name, SourceIdentity and
 * a tag; the duration is clamped to the rule's maximum; every issuance is
 * audited without its secret.
 */
export async function issueCredentials(
  caller: string,
  sourceIp: string,
  request: CredentialsRequest,
  deps: CredentialDeps,
): Promise<IssuedCredentials> {
  const grant = await deps.authorizer.authorize(caller, 'credentials:issue', request.roleArn);
  if (!underRolePath(request.roleArn, deps.assumableRolePath)) {
    throw new ForbiddenError(`${request.roleArn} is outside ${deps.assumableRolePath}, the only path Fleetline hands out roles from`);
  }
  const rule = grant === 'admin' ? undefined : grant;
  const identity = callerIdentity(caller);
  const durationSeconds = clampDuration(request.durationSeconds, rule?.maxSessionSeconds);
  if (!deps.issuer) throw new Error('No credential issuer is configured');
  const credentials = await deps.issuer.assumeRole({
    roleArn: request.roleArn,
    sessionName: request.sessionName ?? identity.sessionName,
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
    sessionName: request.sessionName ?? identity.sessionName,
    issuedAt: deps.clock.now().toISOString(),
    expiration: credentials.expiration,
    sourceIp,
    durationSeconds,
  };
  await deps.audit.record(entry);
  logger.info('Credentials issued', { ...entry }); // the entry holds no secret
  return credentials;
}
