import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { INSTANCE_QUERY_PARAMETER } from '../domain/agent-channel.js';
import { nameSchema } from '../domain/names.js';
import { authorizeAgent } from '../deployments/agent-protocol.js';
import type { EngineDeps } from '../deployments/engine-deps.js';
import { ForbiddenError } from '../errors.js';
import { logger } from '../logger.js';
import type { AgentConnectionsRepository, Clock } from '../ports.js';

/** The part of an API Gateway WebSocket event the channel reads ($connect carries the IAM identity). */
export interface ChannelEvent {
  requestContext: {
    routeKey: string;
    connectionId: string;
    domainName: string;
    stage: string;
    identity?: { userArn?: string | null } | undefined;
  };
  queryStringParameters?: Record<string, string | undefined> | null | undefined;
}

export interface ChannelResult {
  statusCode: number;
  body?: string;
}

export interface ChannelDeps extends Pick<EngineDeps, 'instances' | 'agentRoleNames' | 'agentAccounts'> {
  connections: AgentConnectionsRepository;
  clock: Clock;
}

const answer = (statusCode: number, message?: string): ChannelResult => (message ? { statusCode, body: message } : { statusCode });

/**
 * The control channel's routes. $connect binds the connection to one instance
 * by the same rule as the HTTP agent routes (its EC2 session, or the principal
 * bound at registration); anything else is refused before a record is written.
 */
export async function handleChannelEvent(event: ChannelEvent, deps: ChannelDeps): Promise<ChannelResult> {
  const { routeKey, connectionId } = event.requestContext;
  if (routeKey === '$disconnect') {
    await deps.connections.remove(connectionId);
    return answer(200);
  }
  if (routeKey !== '$connect') return answer(400, 'The channel accepts no messages but keep-alives');

  const principal = event.requestContext.identity?.userArn;
  if (!principal) return answer(401, 'Connect with a SigV4-signed request');
  const instanceId = nameSchema.safeParse(event.queryStringParameters?.[INSTANCE_QUERY_PARAMETER]);
  if (!instanceId.success) return answer(400, `Query parameter ${INSTANCE_QUERY_PARAMETER} must name this instance`);
  try {
    await authorizeAgent(principal, instanceId.data, deps);
  } catch (error) {
    if (error instanceof ForbiddenError) {
      logger.warn('Refused a channel connection', { principal, instanceId: instanceId.data });
      return answer(403, 'Forbidden');
    }
    throw error;
  }
  const { domainName, stage } = event.requestContext;
  await deps.connections.put({
    instanceId: instanceId.data,
    connectionId,
    endpoint: `https://${domainName}/${stage}`,
    principal,
    connectedAt: deps.clock.now().toISOString(),
  });
  return answer(200);
}

export function createChannelHandler(deps: ChannelDeps) {
  return middy<ChannelEvent, ChannelResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      try {
        return await handleChannelEvent(event, deps);
      } catch (error) {
        logger.error('Channel event failed', { routeKey: event.requestContext?.routeKey, error: error as Error });
        return answer(500, 'Internal error');
      }
    });
}
