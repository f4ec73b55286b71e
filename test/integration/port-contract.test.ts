import { afterEach, describe } from 'vitest';
import { DynamoAccessRulesRepository } from '../../lib/adapters/dynamodb/access-rules-repository.js';
import { DynamoAgentPresenceRepository } from '../../lib/adapters/dynamodb/agent-presence-repository.js';
import { DynamoApplicationsRepository } from '../../lib/adapters/dynamodb/applications-repository.js';
import { DynamoAgentConnectionsRepository } from '../../lib/adapters/dynamodb/connections-repository.js';
import { DynamoCredentialAuditLog } from '../../lib/adapters/dynamodb/credential-audit-log.js';
import { DynamoDeploymentsRepository } from '../../lib/adapters/dynamodb/deployments-repository.js';
import { DynamoExecutionsRepository } from '../../lib/adapters/dynamodb/executions-repository.js';
import { DynamoDeploymentGroupsRepository } from '../../lib/adapters/dynamodb/groups-repository.js';
import { DynamoInstanceDeploymentsRepository } from '../../lib/adapters/dynamodb/instance-deployments-repository.js';
import { DynamoInstancesRepository } from '../../lib/adapters/dynamodb/instances-repository.js';
import { DynamoLiveLogRepository } from '../../lib/adapters/dynamodb/live-log-repository.js';
import { DynamoPipelinesRepository } from '../../lib/adapters/dynamodb/pipelines-repository.js';
import { type Ports, portContract } from '../contract/ports.contract.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';

const tables: TestTable[] = [];
afterEach(async () => {
  for (const t of tables.splice(0)) await t.drop();
});

describe('the DynamoDB adapters keep the ports\' contract', () => {
  portContract(async (): Promise<Ports> => {
    const t = await createTestTable();
    tables.push(t);
    const table = t.table;
    let writes = 0;
    // Every write request that took effect (a refused condition throws before this counts it).
    t.client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (/^(PutItem|UpdateItem|DeleteItem|TransactWriteItems|BatchWriteItem)Command$/.test(String(context.commandName))) writes++;
        return out;
      },
      { step: 'initialize', name: 'countWrites' },
    );
    return {
      writes: () => writes,
      applications: new DynamoApplicationsRepository(table),
      groups: new DynamoDeploymentGroupsRepository(table),
      instances: new DynamoInstancesRepository(table),
      deployments: new DynamoDeploymentsRepository(table),
      instanceDeployments: new DynamoInstanceDeploymentsRepository(table),
      agentPresence: new DynamoAgentPresenceRepository(table),
      connections: new DynamoAgentConnectionsRepository(table),
      pipelines: new DynamoPipelinesRepository(table),
      executions: new DynamoExecutionsRepository(table),
      accessRules: new DynamoAccessRulesRepository(table),
      audit: new DynamoCredentialAuditLog(table),
      liveLogs: new DynamoLiveLogRepository(table),
    };
  });
});
