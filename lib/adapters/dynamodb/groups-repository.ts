import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import type { DeploymentGroup, StoredGroupSettings } from '../../domain/deployment-group.js';
import { ConflictError } from '../../errors.js';
import type { DeploymentGroupsRepository, Page, PageRequest, Upserted } from '../../ports.js';
import { cancellationReasons, cancelledItem } from './conditions.js';
import { keys } from './keys.js';
import type { TableClient } from './table-client.js';
import { notFound } from '../../domain/not-found.js';

type Item = Record<string, NativeAttributeValue>;

function toGroup(item: Item): DeploymentGroup {
  return {
    application: item.application,
    name: item.name,
    id: item.id,
    targets: item.targets,
    deploymentConfig: item.deploymentConfig,
    autoRollback: item.autoRollback,
    fileExistsBehavior: item.fileExistsBehavior,
    ignoreApplicationStopFailures: item.ignoreApplicationStopFailures,
    hookRoleArn: item.hookRoleArn ?? null,
    hookRoleSetBy: item.hookRoleSetBy ?? null,
    // Groups written before the setting refuse, as they always did.
    busyBehavior: item.busyBehavior ?? 'REJECT',
    // Groups written before the setting update outdated instances, CodeDeploy's default.
    outdatedInstancesStrategy: item.outdatedInstancesStrategy ?? 'UPDATE',
    // Groups written before triggers have none.
    triggerConfigurations: item.triggerConfigurations ?? [],
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

const applicationMissing = notFound.application;
const groupMissing = notFound.group;

export class DynamoDeploymentGroupsRepository implements DeploymentGroupsRepository {
  constructor(private readonly table: TableClient) {}

  /**
   * A new group is written together with the application's group counter, on the
   * condition that the application exists: no group can outlive its application.
   */
  async put(
    application: string,
    name: string,
    settings: StoredGroupSettings,
    now: string,
    newId: () => string,
  ): Promise<Upserted<DeploymentGroup>> {
    const key = keys.group(application, name);
    for (let attempt = 0; attempt < 3; attempt++) {
      const item: Item = { ...key, type: 'DeploymentGroup', application, name, id: newId(), ...settings, createdAt: now, updatedAt: now };
      try {
        await this.table.transactWrite({
            TransactItems: [
              {
                Update: {
                  TableName: this.table.tableName,
                  Key: keys.application(application),
                  UpdateExpression: 'ADD groupCount :one',
                  ConditionExpression: 'attribute_exists(PK)',
                  ExpressionAttributeValues: { ':one': 1 },
                },
              },
              { Put: { TableName: this.table.tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' } },
            ],
          });
        return { created: true, value: toGroup(item) };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        if (reasons[0] === 'ConditionalCheckFailed') throw applicationMissing(application);
        if (reasons[1] !== 'ConditionalCheckFailed') throw error;
      }
      const updated = await this.table.updateIfExists(key, { ...settings, updatedAt: now });
      if (updated) return { created: false, value: toGroup(updated) };
    }
    throw new Error(`Deployment group ${application}/${name} kept changing while being written`);
  }

  async get(application: string, name: string): Promise<DeploymentGroup | undefined> {
    const item = await this.table.get(keys.group(application, name));
    return item && toGroup(item);
  }

  list(application: string, page: PageRequest<DeploymentGroup>): Promise<Page<DeploymentGroup>> {
    const { PK, skPrefix } = keys.groupPartition(application);
    return this.table.queryPage(
      {
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': PK, ':prefix': skPrefix },
      },
      page,
      { attributes: ['PK', 'SK'], partition: { attribute: 'PK', value: PK } },
      { values: (items) => items.map(toGroup) },
    );
  }

  async delete(application: string, name: string): Promise<void> {
    try {
      await this.table.transactWrite({
          TransactItems: [
            {
              Delete: {
                TableName: this.table.tableName,
                Key: keys.group(application, name),
                ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(activeDeploymentId) AND (attribute_not_exists(queueLength) OR queueLength = :zero)',
                ExpressionAttributeValues: { ':zero': 0 },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Update: {
                TableName: this.table.tableName,
                Key: keys.application(application),
                UpdateExpression: 'ADD groupCount :minusOne',
                ConditionExpression: 'attribute_exists(PK)',
                ExpressionAttributeValues: { ':minusOne': -1 },
              },
            },
          ],
        });
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons?.[0] === 'ConditionalCheckFailed') {
        const old = cancelledItem(error, 0);
        if (old?.activeDeploymentId) throw new ConflictError(`Deployment group "${name}" has an active deployment (${String(old.activeDeploymentId)}); stop it first`);
        if (Number(old?.queueLength ?? 0) > 0) throw new ConflictError(`Deployment group "${name}" has ${String(old?.queueLength)} queued deployment(s); stop them first (fleetline deployments list --group ${name} --status Queued)`);
        throw groupMissing(application, name);
      }
      if (reasons?.includes('ConditionalCheckFailed')) throw groupMissing(application, name);
      throw error;
    }
  }
}

