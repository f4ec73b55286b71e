import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The single table. serverless.yml declares the same schema for AWS; a test
 * compares the two so local and deployed tables cannot drift apart.
 */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  const index = (n: number, Projection: { ProjectionType: 'ALL' | 'INCLUDE'; NonKeyAttributes?: string[] }) => ({
    IndexName: `GSI${n}`,
    KeySchema: [
      { AttributeName: `GSI${n}PK`, KeyType: 'HASH' as const },
      { AttributeName: `GSI${n}SK`, KeyType: 'RANGE' as const },
    ],
    Projection,
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK'].map((name) => ({
      AttributeName: name,
      AttributeType: 'S' as const,
    })),
    KeySchema: [
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      // GSI1 serves listings, which need whole items.
      index(1, { ProjectionType: 'ALL' }),
      // GSI2 only finds things (pending/running instances, active deployments): projecting
      // two IDs keeps the frequent updates of those items from being written to it again.
      index(2, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['deploymentId', 'instanceId'] }),
    ],
    // The worker function reacts to item changes (lib/worker); both images let it see what moved.
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}
