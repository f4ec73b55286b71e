import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { IssuedCredentials } from '../../domain/credentials.js';
import type { AssumeRoleInput, CredentialIssuer } from '../../ports.js';
import { fromStsError } from './aws-errors.js';

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
      throw fromStsError(error, { roleArn: input.roleArn, field: 'roleArn' });
    }
  }
}
