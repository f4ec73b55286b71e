import { createAwsClients } from '../lib/adapters/aws/clients.js';
import { apiAdapters } from '../lib/wiring/api-adapters.js';
import { buildApiDeps } from '../lib/wiring/build-deps.js';
import { createApiHandler } from '../lib/api/handler.js';
import { loadConfig, requireApiSettings } from '../lib/config.js';

// Cold start: configuration is validated and SDK clients are built once per container.
const config = requireApiSettings(loadConfig());

const clients = createAwsClients(config);

export const handler = createApiHandler(buildApiDeps(config, clients, apiAdapters(config, clients)));
