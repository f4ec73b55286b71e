import { createStreamHandler } from '../lib/worker/handle-stream.js';
import { startStreamPoller } from '../local/stream-poller.js';
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
    await Promise.all(ids.slice(i, i + 64).map((id) => stack.deps.instances.put(id, { tags: [tag] }, now)));
  }
  return ids;
}

/** Polls the deployment (not a sleep: the figure is when the condition first holds). */
async function until(stack: Stack, deploymentId: string, done: (d: NonNullable<Awaited<ReturnType<Stack['deps']['deployments']['get']>>>) => boolean) {
  for (;;) {
    const d = await stack.deps.deployments.get(deploymentId);
    if (d && done(d)) return d;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Until no instance item of the deployment is Pending any more (the counters move before the items). */
async function untilNoPending(stack: Stack, deploymentId: string) {
  while ((await stack.deps.instanceDeployments.pendingCandidates(deploymentId, 1)).length > 0) await new Promise((r) => setTimeout(r, 25));
}

/** Until `count` instance items of the deployment are InProgress: its reserved batch has been dispatched. */
async function untilDispatched(stack: Stack, deploymentId: string, count: number) {
  while ((await stack.deps.instanceDeployments.runningIds(deploymentId)).length < count) await new Promise((r) => setTimeout(r, 25));
}

const deploy = (stack: Stack, app: string) =>
  stack.call('POST', '/deployments', { body: { application: app, group: 'all', revision: { bucket: 'fleetline-bench-artifacts', key: `${app}/app.zip` } } });

/**
 * Fan-out (design §9) with the worker fed by the table's stream, as in `npm start`:
 * the POST /deployments answer for FLEET registered targets; until every instance
 * item is written and the first batch dispatched (OneAtATime, and AllAtOnce where the
 * first batch is the whole fleet); a stop of a FLEET-instance deployment until every
 * instance has ended; DynamoDB write and read units per instance-deployment over a
 * full no-op deployment of 100 instances driven by scripted agents that report
 * as the real agent does (compare `npm run bench -- deployment-capacity`, no_op).
 */
export async function benchFanout(): Promise<Figure[]> {
  const stack = await startBenchStack();
  const stream = await startStreamPoller({ client: stack.client, tableName: stack.tableName, handler: createStreamHandler(stack.deps) });
  const figures: Figure[] = [];
  const figure = (metric: string, value: number, unit: string, n: number) => figures.push(printFigure({ bench: 'fanout', metric, value: round(value), unit, n }));
  try {
    for (const config of ['OneAtATime', 'AllAtOnce'] as const) {
      const app = config === 'OneAtATime' ? 'wide' : 'wider';
      await registerFleet(stack, app, FLEET, config);
      const started = performance.now();
      const created = await deploy(stack, app);
      if (created.status !== 201) throw new Error(`POST /deployments answered ${created.status}`);
      if (config === 'OneAtATime') figure('post_deployments_seconds', (performance.now() - started) / 1000, 's', FLEET);
      // The counters move when a batch is reserved; it is dispatched once its instance items are InProgress.
      const first = await until(stack, created.body.deploymentId, (d) => d.fleetSize === FLEET && d.counts.inProgress > 0);
      const metric = config === 'OneAtATime' ? 'seconds_to_first_batch' : 'seconds_to_whole_fleet_dispatched';
      if (config === 'AllAtOnce') await untilNoPending(stack, created.body.deploymentId);
      else await untilDispatched(stack, created.body.deploymentId, first.counts.inProgress);
      figure(metric, (performance.now() - started) / 1000, 's', FLEET);
      if (config === 'OneAtATime') {
        figure('first_batch_size', first.counts.inProgress, 'instances', FLEET);
        await stream.settle(300_000);
        stack.meter.reset();
        const stopAt = performance.now();
        const stopped = await stack.call('POST', `/deployments/${created.body.deploymentId}/stop`, { body: { rollback: false } });
        if (stopped.status !== 202) throw new Error(`stop answered ${stopped.status}`);
        figure('stop_request_seconds', (performance.now() - stopAt) / 1000, 's', FLEET);
        await until(stack, created.body.deploymentId, (d) => d.status === 'Stopped' && d.counts.pending === 0 && d.counts.inProgress === 0);
        // Requests the stop made until then (the figure's own polling, GetItem, left out): they do not depend on the machine's load.
        const queries = [...stack.meter.byOperation].filter(([operation]) => operation.startsWith('QueryCommand')).reduce((n, [, o]) => n + o.calls, 0);
        const requests = { writes: stack.meter.totals.writeCalls, queries };
        await untilNoPending(stack, created.body.deploymentId);
        figure('stop_seconds_to_every_instance_ended', (performance.now() - stopAt) / 1000, 's', FLEET);
        figure('stop_write_requests', requests.writes, 'requests', FLEET);
        figure('stop_query_requests', requests.queries, 'requests', FLEET);
      } else {
        await stack.call('POST', `/deployments/${created.body.deploymentId}/stop`, { body: { rollback: false } });
      }
    }
    await stream.settle(300_000);

    const ids = await registerFleet(stack, 'metered', METERED_FLEET, 'AllAtOnce');
    await stream.settle(300_000);
    stack.meter.reset();
    const { body } = await deploy(stack, 'metered');
    await stream.settle(300_000);
    const agents = ids.map((id) => new ScriptedAgent(stack.call, id, () => stream.settle(300_000)));
    // Each scripted agent reports as the real agent does for a no-op bundle (one report, every event in it).
    await Promise.all(agents.map((a) => a.runBatched()));
    await stream.settle(300_000);
    const done = await stack.deps.deployments.get(body.deploymentId);
    if (done?.status !== 'Succeeded') throw new Error(`metered deployment ended ${done?.status}`);
    const { writeUnits, readUnits } = stack.meter.totals;
    figure('write_units_per_instance_deployment', writeUnits / METERED_FLEET, 'WCU', METERED_FLEET);
    figure('read_units_per_instance_deployment', readUnits / METERED_FLEET, 'RCU', METERED_FLEET);
  } finally {
    await stream.stop();
    await stack.stop();
  }
  return figures;
}

const round = (n: number) => Math.round(n * 100) / 100;
