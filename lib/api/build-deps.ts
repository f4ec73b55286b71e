import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoApplicationsRepository } from '../adapters/dynamodb/applications-repository.js';
import { DynamoDeploymentGroupsRepository } from '../adapters/dynamodb/groups-repository.js';
import { DynamoInstancesRepository } from '../adapters/dynamodb/instances-repository.js';
import { TableClient } from '../adapters/dynamodb/table-client.js';
import type { Config } from '../config.js';
import type { ApiDeps } from './deps.js';

export const systemClock = { now: () => new Date() };

/** Wires the API's dependencies onto real adapters. */
export function buildApiDeps(config: Config, doc: DynamoDBDocumentClient): ApiDeps {
  const table = new TableClient(doc, config.tableName);
  return {
    applications: new DynamoApplicationsRepository(table),
    groups: new DynamoDeploymentGroupsRepository(table),
    instances: new DynamoInstancesRepository(table),
    clock: systemClock,
    newId: randomUUID,
  };
}
