import type { DynamoDBRecord } from 'aws-lambda';
import { DEPLOYMENT_ID_PATTERN } from '../domain/deployment.js';
import { EXECUTION_ID_PATTERN } from '../domain/execution-id.js';
import { sameTags } from '../domain/catch-up.js';
import { NAME_PATTERN } from '../domain/names.js';
import type { Tag } from '../domain/tags.js';

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

type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/** The `tags` list of an instance item's image ([] when absent), read without the SDK: a list of maps of two strings. */
function tagsOf(image: Image | undefined): Tag[] {
  return (image?.tags?.L ?? []).flatMap((entry) => {
    const key = entry.M?.key?.S;
    const value = entry.M?.value?.S;
    return key === undefined || value === undefined ? [] : [{ key, value }];
  });
}

/**
 * A registered instance whose targeting tags changed (or that was created with
 * some), when the record is one: its tags before (none for a new instance) and
 * after. Anything else an instance record changes (its binding, the tags its
 * agent asked for) is not a change of what it matches.
 */
export function instanceTagsChangeOf(record: DynamoDBRecord): { instanceId: string; before: Tag[]; after: Tag[] } | undefined {
  const image = record.dynamodb?.NewImage;
  if (image?.type?.S !== 'Instance') return undefined;
  const instanceId = image.instanceId?.S;
  if (!instanceId || !NAME_PATTERN.test(instanceId)) return undefined;
  const before = tagsOf(record.dynamodb?.OldImage);
  const after = tagsOf(image);
  return sameTags(before, after) ? undefined : { instanceId, before, after };
}
