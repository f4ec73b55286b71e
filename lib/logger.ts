import { Logger } from '@aws-lambda-powertools/logger';

/** The one logger. Per-request keys are appended by middleware and cleared after each request. */
export const logger = new Logger({ serviceName: 'fleetline' });
