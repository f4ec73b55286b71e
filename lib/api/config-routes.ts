import { API_VERSION, type ClientConfig } from '../domain/client-config.js';
import { route } from './deps.js';
import { operations } from './operations.js';

export const configRoutes = [
  route(operations.getConfig, {
    // What the CLI needs to deploy a bundle: for any caller who may create some deployment.
    access: { action: 'deployments:create', self: true },
    async handle({ deps }) {
      const body: ClientConfig = {
        apiVersion: API_VERSION,
        artifactBucket: deps.artifactBucket,
        region: deps.region ?? null,
        channelUrl: deps.channelUrl ?? null,
        ...(deps.localS3Endpoint ? { s3Endpoint: deps.localS3Endpoint } : {}),
      };
      return { statusCode: 200, body };
    },
  }),
];
