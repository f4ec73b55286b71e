import { localAgentPrincipal } from '../local/local-fleet.js';
import { startBenchStack } from './bench-stack.js';
import { type Figure, printFigure } from './figure.js';

const POLLS = 50;

/** Agent poll cost (design §9): DynamoDB reads and Lambda invocations per idle instance per hour. */
export async function benchAgentPoll(): Promise<Figure[]> {
  const stack = await startBenchStack();
  try {
    const instanceId = 'idle-1';
    await stack.deps.instances.put(instanceId, {}, new Date().toISOString());
    stack.meter.reset();
    for (let i = 0; i < POLLS; i++) {
      const res = await stack.call('POST', '/agent/v1/poll', { body: { instanceId }, principal: localAgentPrincipal(instanceId) });
      if (res.status !== 200 || res.body.assignment !== null) throw new Error(`unexpected poll answer ${res.status}`);
    }
    const pollsPerHour = 3600 / stack.deps.timings.pollIntervalSeconds;
    const { readUnits, readCalls, writeUnits } = stack.meter.totals;
    return [
      printFigure({ bench: 'agent-poll', metric: 'lambda_invocations_per_idle_instance_hour', value: pollsPerHour, unit: 'invocations', n: POLLS }),
      printFigure({ bench: 'agent-poll', metric: 'dynamodb_reads_per_idle_instance_hour', value: round((readCalls / POLLS) * pollsPerHour), unit: 'requests', n: POLLS }),
      printFigure({ bench: 'agent-poll', metric: 'read_units_per_idle_instance_hour', value: round((readUnits / POLLS) * pollsPerHour), unit: 'RCU', n: POLLS }),
      printFigure({ bench: 'agent-poll', metric: 'write_units_per_idle_instance_hour', value: round((writeUnits / POLLS) * pollsPerHour), unit: 'WCU', n: POLLS }),
    ];
  } finally {
    await stack.stop();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
