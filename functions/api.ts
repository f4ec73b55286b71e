import { createAwsClients } from '../lib/adapters/aws/clients.js';
import { buildApiDeps } from '../lib/api/build-deps.js';
import { createApiHandler } from '../lib/api/handler.js';
import { loadConfig, requireAdmins } from '../lib/config.js';

// Cold start: configuration is validated and SDK clients are built once per container.
const config = requireAdmins(loadConfig());

export const handler = createApiHandler(buildApiDeps(config, createAwsClients(config)));
