import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from '../adapters/aws/clients.js';
import { type Lazy, lazyPort } from '../adapters/aws/lazy.js';
import { createStsClient } from '../adapters/aws/sts-client.js';
import type { Config } from '../config.js';
import type { RoleAdapters } from './build-deps.js';

/** The API's own adapters: it presigns bundle and log URLs for agents and issues credentials. It never pushes. */
export function apiAdapters(config: Config, clients: AwsClients, sts: Lazy<STSClient> = createStsClient()): Partial<RoleAdapters> {
  return {
    bundles: lazyPort(async () => new (await import('../adapters/aws/s3-bundle-urls.js')).S3BundleUrls(await clients.s3(), config.artifactBucket)),
    issuer: lazyPort(async () => new (await import('../adapters/aws/sts-issuer.js')).StsCredentialIssuer(await sts())),
  };
}
