import { writeFigureLine } from './figures-only-stdout.js';
import { CHANNEL_TIMINGS } from '../agent/push-channel.js';
import { DEFAULT_SAFETY_POLL_SECONDS } from '../agent/cli-options.js';
import { DynamoAgentConnectionsRepository } from '../lib/adapters/dynamodb/connections-repository.js';
import { TableClient } from '../lib/adapters/dynamodb/table-client.js';
import { handleChannelEvent } from '../lib/channel/handler.js';
import { localAgentPrincipal } from '../local/local-fleet.js';
import { startBenchStack } from './bench-stack.js';
import { type Figure, printFigure } from './figure.js';

/** us-east-1 list prices, printed with the figure. */
const PRICES = {
  httpApiPerMillionRequests: 1.0,
  websocketPerMillionMessages: 1.0,
  websocketPerMillionConnectionMinutes: 0.25,
  lambdaPerMillionRequests: 0.2,
  lambdaPerGbSecondArm: 0.0000133334,
  dynamoPerMillionReadUnits: 0.125,
  dynamoPerMillionWriteUnits: 0.625,
};
/** Billed Lambda duration assumed per idle invocation (a poll that finds nothing, a $connect). */
const ASSUMED_MS_PER_INVOCATION = 20;
const API_MEMORY_GB = 1;
const CHANNEL_MEMORY_GB = 0.25;
const SAMPLES = 20;
const HOURS_PER_MONTH = 730;

/**
 * What an idle agent costs with the control channel: the agent's own schedule
 * (safety poll, keep-alive, renewal: the constants it runs with) times what each
 * of those costs, measured here (DynamoDB units from consumed capacity), times list prices.
 */
export async function benchIdleCost(): Promise<Figure[]> {
  const stack = await startBenchStack();
  try {
    const instanceId = 'idle-1';
    await stack.deps.instances.put(instanceId, {}, new Date().toISOString());
    const principal = localAgentPrincipal(instanceId);

    stack.meter.reset();
    for (let i = 0; i < SAMPLES; i++) {
      const res = await stack.call('POST', '/agent/v1/poll', { body: { instanceId }, principal });
      if (res.status !== 200 || res.body.assignment !== null) throw new Error(`unexpected poll answer ${res.status}`);
    }
    const poll = { read: stack.meter.totals.readUnits / SAMPLES, write: stack.meter.totals.writeUnits / SAMPLES };

    const connections = new DynamoAgentConnectionsRepository(new TableClient(stack.doc, stack.tableName));
    const deps = { instances: stack.deps.instances, connections, agentRoleNames: stack.deps.agentRoleNames, agentAccounts: stack.deps.agentAccounts, clock: { now: () => new Date() } };
    stack.meter.reset();
    for (let i = 0; i < SAMPLES; i++) {
      const context = { connectionId: `c${i}`, domainName: 'x.execute-api.us-east-1.amazonaws.com', stage: 'bench' };
      await handleChannelEvent({ requestContext: { ...context, routeKey: '$connect', identity: { userArn: principal } }, queryStringParameters: { instanceId } }, deps);
      await handleChannelEvent({ requestContext: { ...context, routeKey: '$disconnect' } }, deps);
    }
    const reconnect = { read: stack.meter.totals.readUnits / SAMPLES, write: stack.meter.totals.writeUnits / SAMPLES };

    const perHour = {
      safetyPolls: 3600 / DEFAULT_SAFETY_POLL_SECONDS,
      keepalives: 3600 / CHANNEL_TIMINGS.keepaliveSeconds,
      reconnects: 3600 / CHANNEL_TIMINGS.renewSeconds,
      connectionMinutes: 60,
    };
    const usage = {
      httpRequests: perHour.safetyPolls,
      websocketMessages: perHour.keepalives,
      connectionMinutes: perHour.connectionMinutes,
      lambdaInvocations: perHour.safetyPolls + 2 * perHour.reconnects,
      lambdaGbSeconds: (perHour.safetyPolls * API_MEMORY_GB + 2 * perHour.reconnects * CHANNEL_MEMORY_GB) * (ASSUMED_MS_PER_INVOCATION / 1000),
      readUnits: perHour.safetyPolls * poll.read + perHour.reconnects * reconnect.read,
      writeUnits: perHour.safetyPolls * poll.write + perHour.reconnects * reconnect.write,
    };
    const dollarsPerHour =
      (usage.httpRequests * PRICES.httpApiPerMillionRequests +
        usage.websocketMessages * PRICES.websocketPerMillionMessages +
        usage.connectionMinutes * PRICES.websocketPerMillionConnectionMinutes +
        usage.lambdaInvocations * PRICES.lambdaPerMillionRequests +
        usage.readUnits * PRICES.dynamoPerMillionReadUnits +
        usage.writeUnits * PRICES.dynamoPerMillionWriteUnits) /
        1e6 +
      usage.lambdaGbSeconds * PRICES.lambdaPerGbSecondArm;
    const figures = [
      printFigure({ bench: 'idle-cost', metric: 'http_requests_per_instance_hour', value: round(usage.httpRequests), unit: 'requests' }),
      printFigure({ bench: 'idle-cost', metric: 'websocket_messages_per_instance_hour', value: round(usage.websocketMessages), unit: 'messages' }),
      printFigure({ bench: 'idle-cost', metric: 'connection_minutes_per_instance_hour', value: usage.connectionMinutes, unit: 'min' }),
      printFigure({ bench: 'idle-cost', metric: 'lambda_invocations_per_instance_hour', value: round(usage.lambdaInvocations), unit: 'invocations' }),
      printFigure({ bench: 'idle-cost', metric: 'read_units_per_instance_hour', value: round(usage.readUnits), unit: 'RRU', n: SAMPLES }),
      printFigure({ bench: 'idle-cost', metric: 'write_units_per_instance_hour', value: round(usage.writeUnits), unit: 'WRU', n: SAMPLES }),
      printFigure({ bench: 'idle-cost', metric: 'dollars_per_instance_month', value: Math.round(dollarsPerHour * HOURS_PER_MONTH * 10000) / 10000, unit: 'USD' }),
    ];
    writeFigureLine(JSON.stringify({ bench: 'idle-cost', prices: PRICES, assumedLambdaMsPerInvocation: ASSUMED_MS_PER_INVOCATION }));
    return figures;
  } finally {
    await stack.stop();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
