import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { emulatorCredentials } from '../lib/adapters/aws/local-emulators.js';
import { createDocumentClient } from '../lib/adapters/dynamodb/client.js';
import { DynamoAgentConnectionsRepository } from '../lib/adapters/dynamodb/connections-repository.js';
import { DynamoInstancesRepository } from '../lib/adapters/dynamodb/instances-repository.js';
import { TableClient } from '../lib/adapters/dynamodb/table-client.js';
import { createChannelHandler } from '../lib/channel/handler.js';
import { loadConfig } from '../lib/config.js';

// Cold start: configuration is validated and the one SDK client it needs is built once per container.
const config = loadConfig();
const table = new TableClient(createDocumentClient(new DynamoDBClient(emulatorCredentials(process.env.AWS_ENDPOINT_URL_DYNAMODB))), config.tableName);

export const handler = createChannelHandler({
  instances: new DynamoInstancesRepository(table),
  connections: new DynamoAgentConnectionsRepository(table),
  agentRoleNames: config.agentRoleNames,
  agentAccounts: config.agentAccounts,
  clock: { now: () => new Date() },
});
