import { NotFoundError } from '../errors.js';

/**
 * The answer for an item that does not exist, one per kind. A caller refused
 * on an item it names gets exactly this answer too (lib/http/router.ts), so
 * every place that finds an item missing must say it with these words.
 */
export const notFound = {
  application: (app: string) => new NotFoundError(`Application "${app}" does not exist`),
  group: (app: string, group: string) => new NotFoundError(`Deployment group "${group}" does not exist in application "${app}"`),
  instance: (instanceId: string) => new NotFoundError(`Instance "${instanceId}" is not registered`),
  pipeline: (name: string) => new NotFoundError(`Pipeline "${name}" does not exist`),
  deployment: (deploymentId: string) => new NotFoundError(`Deployment ${deploymentId} does not exist`),
  execution: (executionId: string) => new NotFoundError(`Execution ${executionId} does not exist`),
};
