import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config.js';
import { createDocumentClient } from '../dynamodb/client.js';

/** The SDK clients a function uses, built once per container. Endpoints follow AWS_ENDPOINT_URL_<SERVICE>. */
export interface AwsClients {
  doc: DynamoDBDocumentClient;
  s3: S3Client;
  sts: STSClient;
}

export function createAwsClients(config: Config): AwsClients {
  return {
    doc: createDocumentClient(new DynamoDBClient({})),
    s3: new S3Client({ forcePathStyle: config.s3ForcePathStyle }),
    sts: new STSClient({}),
  };
}
