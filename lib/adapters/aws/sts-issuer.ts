import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { IssuedCredentials } from '../../domain/credentials.js';
import { ForbiddenError, ThrottledError, ValidationError } from '../../errors.js';
import type { AssumeRoleInput, CredentialIssuer } from '../../ports.js';
import { credentialsProblem } from './credential-errors.js';

/** STS AssumeRole, with its errors turned into answers a caller can act on. */
export class StsCredentialIssuer implements CredentialIssuer {
  constructor(private readonly sts: STSClient) {}

  async assumeRole(input: AssumeRoleInput): Promise<IssuedCredentials> {
    try {
      const out = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: input.roleArn,
          RoleSessionName: input.sessionName,
          SourceIdentity: input.sourceIdentity,
          DurationSeconds: input.durationSeconds,
          Policy: input.policy,
          ExternalId: input.externalId,
          Tags: input.tags.map((t) => ({ Key: t.key, Value: t.value })),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error('STS returned no credentials');
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration.toISOString(),
        assumedRoleArn: out.AssumedRoleUser?.Arn ?? '',
      };
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'AccessDenied' || name === 'AccessDeniedException') {
        throw new ForbiddenError(`STS refused to let Fleetline assume ${input.roleArn}: check the role's trust policy`);
      }
      if (name === 'MalformedPolicyDocumentException' || name === 'PackedPolicyTooLargeException') {
        throw new ValidationError(`STS rejected the session policy: ${(error as Error).message}`, [
          { path: '$.policy', message: (error as Error).message },
        ]);
      }
      if (name === 'ThrottlingException' || name === 'Throttling') {
        throw new ThrottledError('STS is throttling requests; retry after a few seconds with backoff');
      }
      throw credentialsProblem(error, 'STS') ?? error;
    }
  }
}
