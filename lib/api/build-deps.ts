import { randomBytes, randomUUID } from 'node:crypto';
import type { AwsClients } from '../adapters/aws/clients.js';
import { lazyPort } from '../adapters/aws/lazy.js';
import { DynamoAgentConnectionsRepository } from '../adapters/dynamodb/connections-repository.js';
import { DynamoCredentialAuditLog } from '../adapters/dynamodb/credential-audit-log.js';
import { Authorizer } from '../access/authorizer.js';
import { DynamoAccessRulesRepository } from '../adapters/dynamodb/access-rules-repository.js';
import { DynamoApplicationsRepository } from '../adapters/dynamodb/applications-repository.js';
import { DynamoDeploymentsRepository } from '../adapters/dynamodb/deployments-repository.js';
import { DynamoDeploymentGroupsRepository } from '../adapters/dynamodb/groups-repository.js';
import { DynamoInstanceDeploymentsRepository } from '../adapters/dynamodb/instance-deployments-repository.js';
import { DynamoInstancesRepository } from '../adapters/dynamodb/instances-repository.js';
import { TableClient } from '../adapters/dynamodb/table-client.js';
import type { Config } from '../config.js';
import type { EngineDeps } from '../deployments/engine.js';
import { DynamoExecutionsRepository } from '../adapters/dynamodb/executions-repository.js';
import { DynamoPipelinesRepository } from '../adapters/dynamodb/pipelines-repository.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import type { ApiDeps } from './deps.js';

export const systemClock = { now: () => new Date() };

const stsIssuer = (clients: AwsClients) =>
  lazyPort(async () => new (await import('../adapters/aws/sts-issuer.js')).StsCredentialIssuer(await clients.sts()));

/** Wires the deployment engine onto real adapters. */
export function buildEngineDeps(config: Config, clients: AwsClients): EngineDeps {
  const table = new TableClient(clients.doc, config.tableName);
  return {
    applications: new DynamoApplicationsRepository(table),
    artifactBucket: config.artifactBucket,
    deployments: new DynamoDeploymentsRepository(table),
    instanceDeployments: new DynamoInstanceDeploymentsRepository(table),
    groups: new DynamoDeploymentGroupsRepository(table),
    instances: new DynamoInstancesRepository(table),
    ec2: lazyPort(async () => new (await import('../adapters/aws/ec2-targets.js')).Ec2TargetLookupAdapter(await clients.sts(), process.env.AWS_REGION)),
    bundles: lazyPort(async () => new (await import('../adapters/aws/s3-bundle-urls.js')).S3BundleUrls(await clients.s3(), config.artifactBucket)),
    clock: systemClock,
    randomBytes: (n) => randomBytes(n),
    timings: config.timings,
    agentRoleNames: config.agentRoleNames,
    agentAccounts: config.agentAccounts,
    issuer: stsIssuer(clients),
    assumableRolePath: config.assumableRolePath,
    channelUrl: config.channelUrl,
    notifier: lazyPort(async () => {
      const { ChannelNotifier } = await import('../adapters/aws/channel-notifier.js');
      return new ChannelNotifier(new DynamoAgentConnectionsRepository(table));
    }),
  };
}

/** The engine plus pipelines (the worker moves a pipeline on when its deployment ends). */
export function buildPipelineDeps(config: Config, clients: AwsClients): PipelineDeps {
  const table = new TableClient(clients.doc, config.tableName);
  return {
    ...buildEngineDeps(config, clients),
    authorizer: new Authorizer(new DynamoAccessRulesRepository(table), config.adminPrincipals),
    pipelines: new DynamoPipelinesRepository(table),
    executions: new DynamoExecutionsRepository(table),
    appspecs: lazyPort(async () => new (await import('../adapters/aws/s3-appspec-reader.js')).S3AppspecReader(await clients.s3())),
  };
}

/** Wires the API's dependencies onto real adapters. */
export function buildApiDeps(config: Config, clients: AwsClients): ApiDeps {
  const table = new TableClient(clients.doc, config.tableName);
  const accessRules = new DynamoAccessRulesRepository(table);
  return {
    ...buildPipelineDeps(config, clients),
    newId: randomUUID,
    accessRules,
    authorizer: new Authorizer(accessRules, config.adminPrincipals),
    audit: new DynamoCredentialAuditLog(table),
    credentialAccounts: config.credentialAccounts,
    partition: config.partition,
  };
}
