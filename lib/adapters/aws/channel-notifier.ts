import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ChannelMessage, WakeReason } from '../../domain/agent-channel.js';
import { logger } from '../../logger.js';
import { emulatorCredentials } from './local-emulators.js';
import type { AgentConnectionsRepository, InstanceNotifier } from '../../ports.js';

const POST_CONCURRENCY = 16;

/**
 * Pushes wake-ups through API Gateway's Management API (PostToConnection) to
 * each instance's recorded connection. A connection API Gateway no longer has
 * (GoneException) loses its record, and an older connection of the same
 * instance still open, if any, gets the push instead. Never throws: the agent's slow poll is the
 * safety net and the table stays the truth.
 */
export class ChannelNotifier implements InstanceNotifier {
  private readonly clients = new Map<string, ApiGatewayManagementApiClient>();

  constructor(
    private readonly connections: AgentConnectionsRepository,
    /** AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, when set, reaches every connection (the local dev server). */
    private readonly endpointOverride: string | undefined = process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI,
  ) {}

  async wake(instanceIds: readonly string[], reason: WakeReason, deploymentId?: string): Promise<void> {
    if (instanceIds.length === 0) return;
    try {
      const found = await this.connections.find(instanceIds);
      const message: ChannelMessage = { type: 'wake', reason, ...(deploymentId ? { deploymentId } : {}) };
      const data = new TextEncoder().encode(JSON.stringify(message));
      let next = 0;
      const worker = async () => {
        while (next < found.length) {
          const connection = found[next++];
          if (connection) await this.post(connection.connectionId, connection.instanceId, connection.endpoint, data);
        }
      };
      await Promise.all(Array.from({ length: Math.min(POST_CONCURRENCY, found.length) }, worker));
    } catch (error) {
      logger.warn('Could not push to agents; they will poll', { reason, count: instanceIds.length, error: error as Error });
    }
  }

  private async post(connectionId: string, instanceId: string, endpoint: string, data: Uint8Array, retryOnGone = true): Promise<void> {
    try {
      await this.client(endpoint).send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
    } catch (error) {
      if (error instanceof GoneException) {
        await this.connections.remove(connectionId, instanceId);
        // An older connection of the instance still open took over: it gets this push (once; the reconciler re-wakes).
        const [next] = retryOnGone ? await this.connections.find([instanceId]) : [];
        if (next && next.connectionId !== connectionId) await this.post(next.connectionId, instanceId, next.endpoint, data, false);
        return;
      }
      logger.warn('Push to an agent failed; it will poll', { instanceId, error: error as Error });
    }
  }

  private client(endpoint: string): ApiGatewayManagementApiClient {
    const key = this.endpointOverride ?? endpoint;
    let client = this.clients.get(key);
    if (!client) {
      const target = this.endpointOverride ?? endpoint;
      client = new ApiGatewayManagementApiClient({ endpoint: target, ...emulatorCredentials(target) });
      this.clients.set(key, client);
    }
    return client;
  }
}
