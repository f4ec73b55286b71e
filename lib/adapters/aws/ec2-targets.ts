import type { EC2Client, Filter } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { Tag, TagFilter, TagSet } from '../../domain/tags.js';
import { matchesTagSet } from '../../domain/tags.js';
import type { Ec2TargetLookup } from '../../ports.js';
import { fromEc2Error, fromStsError } from './aws-errors.js';

function toEc2Filter(filter: TagFilter): Filter {
  switch (filter.type) {
    case 'KEY_ONLY':
      return { Name: 'tag-key', Values: [filter.key as string] };
    case 'VALUE_ONLY':
      return { Name: 'tag-value', Values: [filter.value as string] };
    case 'KEY_AND_VALUE':
      return { Name: `tag:${filter.key as string}`, Values: [filter.value as string] };
  }
}

/**
 * The EC2 client is large and most invocations never resolve EC2 targets: it is
 * loaded on first use, keeping it out of every function's cold start.
 */
const loadEc2 = () => import('@aws-sdk/client-ec2');

/**
 * Running EC2 instances matching a tag set. EC2's own filters narrow the search
 * (one query per filter of the first tag group, which every match must satisfy);
 * the full AND/OR rule is then applied by the domain's matchesTagSet.
 */
export class Ec2TargetLookupAdapter implements Ec2TargetLookup {
  private readonly clients = new Map<string, EC2Client>();

  constructor(
    private readonly sts: STSClient,
    private readonly defaultRegion: string | undefined,
  ) {}

  async findInstanceIds(query: { tagSet: TagSet; region?: string | undefined; roleArn?: string | undefined; instanceIds?: readonly string[] | undefined }): Promise<string[]> {
    const [firstGroup] = query.tagSet;
    if (!firstGroup || query.instanceIds?.length === 0) return [];
    const ec2 = await this.client(query.region, query.roleArn);
    const { DescribeInstancesCommand } = await loadEc2();
    const tagsById = new Map<string, Tag[]>();
    try {
      await this.describeInto(ec2, DescribeInstancesCommand, firstGroup, tagsById, query.instanceIds);
    } catch (error) {
      throw fromEc2Error(error, { region: query.region ?? this.defaultRegion, roleArn: query.roleArn });
    } finally {
      if (query.roleArn) ec2.destroy();
    }
    return [...tagsById].filter(([, tags]) => matchesTagSet(query.tagSet, tags)).map(([id]) => id).sort();
  }

  private async describeInto(
    ec2: EC2Client,
    DescribeInstancesCommand: Awaited<ReturnType<typeof loadEc2>>['DescribeInstancesCommand'],
    firstGroup: TagFilter[],
    tagsById: Map<string, Tag[]>,
    instanceIds: readonly string[] | undefined,
  ): Promise<void> {
    // A filter, not InstanceIds: an ID EC2 does not know is then simply not matched, where InstanceIds fails the call.
    const only: Filter[] = instanceIds ? [{ Name: 'instance-id', Values: [...instanceIds] }] : [];
    for (const filter of firstGroup) {
      let NextToken: string | undefined;
      do {
        const out = await ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: 'instance-state-name', Values: ['running'] }, toEc2Filter(filter), ...only],
            MaxResults: 1000,
            NextToken,
          }),
        );
        for (const instance of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
          if (!instance.InstanceId) continue;
          const tags = (instance.Tags ?? []).map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
          tagsById.set(instance.InstanceId, tags);
        }
        NextToken = out.NextToken;
      } while (NextToken);
    }
  }

  /** One client per region for our own account; a short-lived one per lookup in another account. */
  private async client(region: string | undefined, roleArn: string | undefined): Promise<EC2Client> {
    const { EC2Client } = await loadEc2();
    const resolvedRegion = region ?? this.defaultRegion;
    if (roleArn) {
      const { Credentials } = await this.sts
        .send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'fleetline-target-lookup', DurationSeconds: 900 }))
        .catch((error: unknown) => {
          throw fromStsError(error, { roleArn, field: 'targetRoleArn' });
        });
      if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
      return new EC2Client({
        region: resolvedRegion,
        credentials: {
          accessKeyId: Credentials.AccessKeyId,
          secretAccessKey: Credentials.SecretAccessKey,
          sessionToken: Credentials.SessionToken,
        },
      });
    }
    const key = resolvedRegion ?? '';
    let client = this.clients.get(key);
    if (!client) {
      client = new EC2Client(resolvedRegion ? { region: resolvedRegion } : {});
      this.clients.set(key, client);
    }
    return client;
  }
}
