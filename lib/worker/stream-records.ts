import type { DynamoDBRecord } from 'aws-lambda';
import { DEPLOYMENT_ID_PATTERN } from '../domain/deployment.js';
import { EXECUTION_ID_PATTERN } from '../domain/execution-id.js';

/** The ID a stream record's new image holds in `attribute`, when it is an item of `type` and the ID is well formed. */
function idOf(record: DynamoDBRecord, type: string, attribute: string, pattern: RegExp): string | undefined {
  const image = record.dynamodb?.NewImage;
  if (image?.type?.S !== type) return undefined;
  const id = image[attribute]?.S;
  return id !== undefined && pattern.test(id) ? id : undefined;
}

/** The deployment a stream record is about, when it is a deployment item. */
export const deploymentIdOf = (record: DynamoDBRecord) => idOf(record, 'Deployment', 'deploymentId', DEPLOYMENT_ID_PATTERN);

/** The execution a stream record is about, when it is an execution item. */
export const executionIdOf = (record: DynamoDBRecord) => idOf(record, 'Execution', 'executionId', EXECUTION_ID_PATTERN);

/** A follower lease on a live log (docs/live-logs.md), when the record is one: its agent is pushed `follow`. */
export function liveFollowOf(record: DynamoDBRecord): { deploymentId: string; instanceId: string; until: string } | undefined {
  const image = record.dynamodb?.NewImage;
  if (image?.type?.S !== 'LiveLogFollow') return undefined;
  const deploymentId = image.deploymentId?.S;
  const instanceId = image.instanceId?.S;
  const until = image.until?.S;
  if (!deploymentId || !DEPLOYMENT_ID_PATTERN.test(deploymentId) || !instanceId || !until) return undefined;
  return { deploymentId, instanceId, until };
}
