import { createAwsClients } from '../lib/adapters/aws/clients.js';
import { buildPipelineDeps } from '../lib/wiring/build-deps.js';
import { loadConfig } from '../lib/config.js';
import { createReconcileHandler } from '../lib/worker/reconcile-handler.js';
import { buildService, workerAdapters } from '../lib/wiring/worker-adapters.js';

const config = loadConfig();
const clients = createAwsClients(config);

export const handler = createReconcileHandler({ ...buildPipelineDeps(config, clients, workerAdapters(config, clients)), builds: buildService() });
