import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from '../../lib/adapters/aws/clients.js';
import type { Lazy } from '../../lib/adapters/aws/lazy.js';
import { apiAdapters } from '../../lib/wiring/api-adapters.js';
import type { RoleAdapters } from '../../lib/wiring/build-deps.js';
import type { Config } from '../../lib/config.js';
import { workerAdapters } from '../../lib/wiring/worker-adapters.js';

/** The API's and the worker's adapters together: tests and benches run both in one process over one set of dependencies. */
export function allAdapters(config: Config, clients: AwsClients, sts: Lazy<STSClient>): Partial<RoleAdapters> {
  return { ...apiAdapters(config, clients, sts), ...workerAdapters(config, clients, sts) };
}
