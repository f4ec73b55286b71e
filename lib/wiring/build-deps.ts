import { randomBytes, randomUUID } from 'node:crypto';
import type { AwsClients } from '../adapters/aws/clients.js';
import { lazyPort, unwiredPort } from '../adapters/aws/lazy.js';
import { DynamoCredentialAuditLog } from '../adapters/dynamodb/credential-audit-log.js';
import { Authorizer } from '../access/authorizer.js';
import { DynamoAccessRulesRepository } from '../adapters/dynamodb/access-rules-repository.js';
import { DynamoAgentPresenceRepository } from '../adapters/dynamodb/agent-presence-repository.js';
import { DynamoApplicationsRepository } from '../adapters/dynamodb/applications-repository.js';
import { DynamoDeploymentsRepository } from '../adapters/dynamodb/deployments-repository.js';
import { DynamoDeploymentGroupsRepository } from '../adapters/dynamodb/groups-repository.js';
import { DynamoInstanceDeploymentsRepository } from '../adapters/dynamodb/instance-deployments-repository.js';
import { DynamoInstancesRepository } from '../adapters/dynamodb/instances-repository.js';
import { DynamoLiveLogRepository } from '../adapters/dynamodb/live-log-repository.js';
import { TableClient } from '../adapters/dynamodb/table-client.js';
import type { Config } from '../config.js';
import type { EngineDeps } from '../deployments/engine-deps.js';
import { DynamoExecutionsRepository } from '../adapters/dynamodb/executions-repository.js';
import { DynamoPipelinesRepository } from '../adapters/dynamodb/pipelines-repository.js';
import { DynamoEventFeed } from '../adapters/dynamodb/events-repository.js';
import type { PipelineDeps } from '../pipelines/pipeline-deps.js';
import type { ApiDeps } from '../api/deps.js';

export const systemClock = { now: () => new Date() };

/**
 * The adapters only some functions use, each allowed by only their roles: the
 * API presigns bundle URLs and issues credentials (api-adapters.ts), the
 * worker and the reconciler look up EC2 targets and push to agents
 * (worker-adapters.ts). Each function imports only its own, so the SDK clients
 * behind the others stay out of its zip.
 */
export type RoleAdapters = Pick<EngineDeps, 'ec2' | 'bundles' | 'issuer' | 'notifier'>;

/** What a function is not given: calling it fails with AdapterNotWiredError. */
const unwired: RoleAdapters = {
  ec2: unwiredPort('EC2 target lookup'),
  bundles: unwiredPort('Bundle URL presigning'),
};

/** Wires the deployment engine onto real adapters. */
export function buildEngineDeps(config: Config, clients: AwsClients, adapters: Partial<RoleAdapters> = {}): EngineDeps {
  const table = new TableClient(clients.doc, config.tableName);
  return {
    applications: new DynamoApplicationsRepository(table),
    artifactBucket: config.artifactBucket,
    deployments: new DynamoDeploymentsRepository(table),
    instanceDeployments: new DynamoInstanceDeploymentsRepository(table),
    groups: new DynamoDeploymentGroupsRepository(table),
    instances: new DynamoInstancesRepository(table),
    agentPresence: new DynamoAgentPresenceRepository(table),
    liveLogs: new DynamoLiveLogRepository(table),
    minimumAgentVersion: config.minimumAgentVersion,
    clock: systemClock,
    randomBytes: (n) => randomBytes(n),
    timings: config.timings,
    agentRoleNames: config.agentRoleNames,
    agentAccounts: config.agentAccounts,
    assumableRolePath: config.assumableRolePath,
    credentialAccounts: config.credentialAccounts,
    partition: config.partition,
    audit: new DynamoCredentialAuditLog(table),
    channelUrl: config.channelUrl,
    triggerTopicArns: config.triggerTopicArns,
    ...unwired,
    ...adapters,
  };
}

/** The engine plus pipelines (the worker moves a pipeline on when its deployment ends). */
export function buildPipelineDeps(config: Config, clients: AwsClients, adapters: Partial<RoleAdapters> = {}): PipelineDeps {
  const table = new TableClient(clients.doc, config.tableName);
  return {
    ...buildEngineDeps(config, clients, adapters),
    authorizer: new Authorizer(new DynamoAccessRulesRepository(table), config.adminPrincipals),
    pipelines: new DynamoPipelinesRepository(table),
    executions: new DynamoExecutionsRepository(table),
    events: new DynamoEventFeed(table),
    appspecs: lazyPort(async () => new (await import('../adapters/aws/s3-appspec-reader.js')).S3AppspecReader(await clients.s3())),
  };
}

/** Wires the API's dependencies onto real adapters. */
export function buildApiDeps(config: Config, clients: AwsClients, adapters: Partial<RoleAdapters> = {}): ApiDeps {
  const table = new TableClient(clients.doc, config.tableName);
  const accessRules = new DynamoAccessRulesRepository(table);
  return {
    ...buildPipelineDeps(config, clients, adapters),
    newId: randomUUID,
    accessRules,
    authorizer: new Authorizer(accessRules, config.adminPrincipals),
    region: config.region,
    localS3Endpoint: config.localS3Endpoint,
  };
}
