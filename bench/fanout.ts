import { createDeployment } from '../lib/deployments/create-deployment.js';
import { ScriptedAgent } from '../test/support/scripted-agent.js';
import { startBenchStack } from './bench-stack.js';
import { type Figure, printFigure } from './figure.js';

const FLEET = Number(process.env.FANOUT_INSTANCES ?? 10_000);
const METERED_FLEET = 100;

type Stack = Awaited<ReturnType<typeof startBenchStack>>;

async function registerFleet(stack: Stack, app: string, size: number, deploymentConfig: string): Promise<string[]> {
  const tag = { key: 'fleet', value: app };
  await stack.call('PUT', `/applications/${app}`);
  await stack.call('PUT', `/applications/${app}/groups/all`, {
    body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] }, deploymentConfig },
  });
  const ids = Array.from({ length: size }, (_, i) => `${app}-${String(i).padStart(5, '0')}`);
  const now = new Date().toISOString();
  for (let i = 0; i < ids.length; i += 64) {
    await Promise.all(ids.slice(i, i + 64).map((id) => stack.deps.instances.put(id, [tag], null, now)));
  }
  return ids;
}

/**
 * Fan-out (design §9): a deployment to FLEET registered instances, timed from the
 * request until every instance item is written and the first batch dispatched;
 * then DynamoDB write units per instance-deployment over a full no-op deployment
 * of 100 instances driven by scripted agents.
 */
export async function benchFanout(): Promise<Figure[]> {
  const stack = await startBenchStack();
  const figures: Figure[] = [];
  try {
    // OneAtATime, the production default: the figure is target resolution + freezing the fleet + dispatch.
    await registerFleet(stack, 'wide', FLEET, 'OneAtATime');
    const started = performance.now();
    const created = await createDeployment(
      { application: 'wide', group: 'all', revision: { bucket: 'fleetline-bench-artifacts', key: 'wide/app.zip' } },
      'bench',
      stack.deps,
    );
    const seconds = (performance.now() - started) / 1000;
    const deployment = await stack.deps.deployments.get(created.deploymentId);
    if (deployment?.fleetSize !== FLEET || deployment.counts.inProgress === 0) throw new Error('fan-out did not dispatch');
    figures.push(printFigure({ bench: 'fanout', metric: 'seconds_to_first_batch', value: round(seconds), unit: 's', n: FLEET }));
    figures.push(printFigure({ bench: 'fanout', metric: 'first_batch_size', value: deployment.counts.inProgress, unit: 'instances', n: FLEET }));

    const ids = await registerFleet(stack, 'metered', METERED_FLEET, 'AllAtOnce');
    stack.meter.reset();
    const { deploymentId } = await createDeployment(
      { application: 'metered', group: 'all', revision: { bucket: 'fleetline-bench-artifacts', key: 'metered/app.zip' } },
      'bench',
      stack.deps,
    );
    const agents = ids.map((id) => new ScriptedAgent(stack.call, id));
    for (let round = 0; round < 3; round++) await Promise.all(agents.map((a) => a.runOnce()));
    // Each scripted agent reports every event started and finished, as the real agent does.
    const done = await stack.deps.deployments.get(deploymentId);
    if (done?.status !== 'Succeeded') throw new Error(`metered deployment ended ${done?.status}`);
    const { writeUnits, readUnits } = stack.meter.totals;
    figures.push(printFigure({ bench: 'fanout', metric: 'write_units_per_instance_deployment', value: round(writeUnits / METERED_FLEET), unit: 'WCU', n: METERED_FLEET }));
    figures.push(printFigure({ bench: 'fanout', metric: 'read_units_per_instance_deployment', value: round(readUnits / METERED_FLEET), unit: 'RCU', n: METERED_FLEET }));
  } finally {
    await stack.stop();
  }
  return figures;
}

const round = (n: number) => Math.round(n * 100) / 100;
