import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config.js';
import { createDocumentClient } from '../dynamodb/client.js';
import { type Lazy, lazy } from './lazy.js';
import { emulatorCredentials } from './local-emulators.js';

/**
 * The SDK clients every function but the channel uses, built once per
 * container. Endpoints follow AWS_ENDPOINT_URL_<SERVICE>. Every invocation
 * touches DynamoDB; S3 is imported and built on first use, so a function that
 * never calls it never pays for it at cold start. STS is not here: only the
 * functions that assume roles build it (sts-client.ts).
 */
export interface AwsClients {
  doc: DynamoDBDocumentClient;
  s3: Lazy<S3Client>;
}

export function createAwsClients(config: Config): AwsClients {
  return {
    doc: createDocumentClient(new DynamoDBClient(emulatorCredentials(process.env.AWS_ENDPOINT_URL_DYNAMODB))),
    s3: lazy(async () => {
      const { S3Client } = await import('@aws-sdk/client-s3');
      return new S3Client({ forcePathStyle: config.s3ForcePathStyle, ...emulatorCredentials(process.env.AWS_ENDPOINT_URL_S3) });
    }),
  };
}
