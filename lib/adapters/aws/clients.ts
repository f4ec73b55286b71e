import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config.js';
import { createDocumentClient } from '../dynamodb/client.js';
import { emulatorCredentials } from './local-emulators.js';

/** The SDK clients a function uses, built once per container. Endpoints follow AWS_ENDPOINT_URL_<SERVICE>. */
export interface AwsClients {
  doc: DynamoDBDocumentClient;
  s3: S3Client;
  sts: STSClient;
}

export function createAwsClients(config: Config): AwsClients {
  return {
    doc: createDocumentClient(new DynamoDBClient(emulatorCredentials(process.env.AWS_ENDPOINT_URL_DYNAMODB))),
    s3: new S3Client({ forcePathStyle: config.s3ForcePathStyle, ...emulatorCredentials(process.env.AWS_ENDPOINT_URL_S3) }),
    sts: new STSClient({}),
  };
}
