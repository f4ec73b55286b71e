import type { DynamoDBRecord } from 'aws-lambda';
import { DEPLOYMENT_ID_PATTERN } from '../domain/deployment.js';

/** The deployment a stream record is about, when it is a deployment item (anything else is not the worker's). */
export function deploymentIdOf(record: DynamoDBRecord): string | undefined {
  const image = record.dynamodb?.NewImage;
  if (image?.type?.S !== 'Deployment') return undefined;
  const id = image.deploymentId?.S;
  return id !== undefined && DEPLOYMENT_ID_PATTERN.test(id) ? id : undefined;
}
