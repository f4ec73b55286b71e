import type { DynamoDBRecord } from 'aws-lambda';
import { DEPLOYMENT_ID_PATTERN } from '../domain/deployment.js';

/** The deployment a stream record is about, when it is a deployment item. */
export function deploymentIdOf(record: DynamoDBRecord): string | undefined {
  const image = record.dynamodb?.NewImage;
  if (image?.type?.S !== 'Deployment') return undefined;
  const id = image.deploymentId?.S;
  return id !== undefined && DEPLOYMENT_ID_PATTERN.test(id) ? id : undefined;
}

const EXECUTION_ID_PATTERN = /^e-[0-9a-f]{16}$/;

/** The execution a stream record is about, when it is an execution item. */
export function executionIdOf(record: DynamoDBRecord): string | undefined {
  const image = record.dynamodb?.NewImage;
  if (image?.type?.S !== 'Execution') return undefined;
  const id = image.executionId?.S;
  return id !== undefined && EXECUTION_ID_PATTERN.test(id) ? id : undefined;
}
