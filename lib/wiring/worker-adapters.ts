import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from '../adapters/aws/clients.js';
import { type Lazy, lazyPort } from '../adapters/aws/lazy.js';
import { createStsClient } from '../adapters/aws/sts-client.js';
import { DynamoAgentConnectionsRepository } from '../adapters/dynamodb/connections-repository.js';
import { TableClient } from '../adapters/dynamodb/table-client.js';
import type { RoleAdapters } from './build-deps.js';
import type { Config } from '../config.js';
import type { BuildService, EventPublisher, TriggerPublisher } from '../ports.js';
import { localBuildService } from './local-builds.js';

/**
 * The adapters of the functions that start deployments and push to agents
 * (the stream worker and the reconciler): EC2 target lookup and the channel
 * notifier, the only users of the Management API client.
 */
export function workerAdapters(config: Config, clients: AwsClients, sts: Lazy<STSClient> = createStsClient()): Partial<RoleAdapters> {
  const connections = new DynamoAgentConnectionsRepository(new TableClient(clients.doc, config.tableName));
  return {
    ec2: lazyPort(async () => new (await import('../adapters/aws/ec2-targets.js')).Ec2TargetLookupAdapter(await sts(), process.env.AWS_REGION)),
    notifier: lazyPort(async () => new (await import('../adapters/aws/channel-notifier.js')).ChannelNotifier(connections)),
  };
}

/**
 * The stream worker's EventBridge publisher, on the stack's bus; none without one (locally,
 * where the table is the feed). Its client is imported on first use.
 */
export function eventPublisher(config: Pick<Config, 'eventBus'>): EventPublisher | undefined {
  const bus = config.eventBus;
  if (!bus) return undefined;
  return lazyPort(async () => {
    const [{ EventBridgeClient }, { EventBusPublisher }] = await Promise.all([import('@aws-sdk/client-eventbridge'), import('../adapters/aws/event-bus-publisher.js')]);
    return new EventBusPublisher(new EventBridgeClient({}), bus);
  });
}

/**
 * What runs build actions for the worker and the reconciler: the local stack's
 * runner when it provided one, else CodeBuild, its client imported on first use.
 */
export function buildService(): BuildService {
  return localBuildService() ?? lazyPort(async () => {
    const [{ CodeBuildClient }, { CodeBuildService }] = await Promise.all([import('@aws-sdk/client-codebuild'), import('../adapters/aws/codebuild-builds.js')]);
    return new CodeBuildService(new CodeBuildClient({}));
  });
}

/**
 * Where groups' triggers send their notifications: SNS in AWS (its client imported on first
 * use); locally, where there is no SNS, the local stack's log, which shows each one.
 */
export function triggerPublisher(config: Pick<Config, 'localS3Endpoint'>): TriggerPublisher {
  if (config.localS3Endpoint) {
    return lazyPort(async () => new (await import('../adapters/aws/sns-trigger-publisher.js')).LoggedTriggerPublisher((line) => process.stdout.write(`  ${line}\n`)));
  }
  return lazyPort(async () => {
    const [{ SNSClient }, { SnsTriggerPublisher }] = await Promise.all([import('@aws-sdk/client-sns'), import('../adapters/aws/sns-trigger-publisher.js')]);
    return new SnsTriggerPublisher(new SNSClient({}));
  });
}
