import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createApiHandler } from '../lib/api/handler.js';
import { createStreamHandler } from '../lib/worker/handle-stream.js';
import { endWithThisProcess } from '../local/child-guard.js';
import { startDevServer } from '../local/dev-server.js';
import { LOCAL_CREDENTIALS } from '../local/dynamodb-local.js';
import { localAgentPrincipal } from '../local/local-fleet.js';
import { freePort } from '../local/ports.js';
import { startS3Local } from '../local/s3-local.js';
import { startStreamPoller } from '../local/stream-poller.js';
import { script, zipBundle } from '../test/support/bundles.js';
import { startBenchStack } from './bench-stack.js';
import { type Figure, printFigure } from './figure.js';

const AGENTS = 10;
const BUCKET = 'fleetline-bench-artifacts';
const HOOKS = ['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * DynamoDB capacity per instance-deployment with the real agent: a bundle
 * deployed AllAtOnce to 10 real agent processes, everything from POST
 * /deployments until the worker has finished with the deployment, write and
 * read units as AWS bills them (what DynamoDB Local reports, transactions
 * corrected: capacity-meter.ts; the worker's and the reconciler's lookups
 * included). Agents run `--once` after the dispatch, so idle polling is not in
 * the figure. Three deployments in turn: a no-op bundle (an appspec and
 * nothing else), then one with hooks that do nothing on all five script
 * events, twice (the second time the previous revision's ApplicationStop runs
 * too, so every script event runs). The no-op bundle deployed to half the
 * fleet first splits its figure into the units each instance adds and the
 * deployment's own, whatever its size (its share per instance falls as fleets grow).
 */
export async function benchDeploymentCapacity(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-capacity-'));
  const s3Local = await startS3Local({ port: await freePort(), directory: join(dir, 's3'), buckets: [BUCKET] });
  const stack = await startBenchStack({ s3Endpoint: s3Local.endpoint });
  const stream = await startStreamPoller({ client: stack.client, tableName: stack.tableName, handler: createStreamHandler(stack.deps) });
  const server = await startDevServer(createApiHandler(stack.deps) as never, await freePort());
  const s3 = new S3Client({ endpoint: s3Local.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  const figures: Figure[] = [];
  try {
    const app = 'capacity';
    const tag = { key: 'fleet', value: app };
    await stack.call('PUT', `/applications/${app}`, { body: { revisionSources: [{ bucket: BUCKET, prefix: `${app}/` }] } });
    const halfTag = { key: 'half', value: 'yes' };
    for (const [group, target] of [['all', tag], ['half', halfTag]] as const) {
      await stack.call('PUT', `/applications/${app}/groups/${group}`, {
        body: { targets: { onPremisesTagSet: [[{ ...target, type: 'KEY_AND_VALUE' }]] }, deploymentConfig: 'AllAtOnce' },
      });
    }
    const ids = Array.from({ length: AGENTS }, (_, i) => `capacity-${i + 1}`);
    for (const [i, id] of ids.entries()) await stack.deps.instances.put(id, { tags: i < AGENTS / 2 ? [tag, halfTag] : [tag] }, new Date().toISOString());
    const noop = await zipBundle([{ path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' }]);
    const hooks = await zipBundle([
      { path: 'appspec.yml', content: `version: 0.0\nos: linux\nhooks:\n${HOOKS.map((h) => `  ${h}:\n    - location: noop.sh\n`).join('')}` },
      { path: 'noop.sh', content: script('true'), mode: 0o755 },
    ]);

    /** Deploys `bundle` to `group` (its hosts `hosts`) and meters it from POST /deployments until the worker is done. */
    const measure = async (group: string, round: number, label: string, bundle: Buffer, hosts: string[]) => {
      const key = `${app}/app-${round}.zip`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bundle }));
      await stream.settle(300_000);
      stack.meter.reset();
      const created = await stack.call('POST', '/deployments', { body: { application: app, group, revision: { bucket: BUCKET, key } } });
      if (created.status !== 201) throw new Error(`POST /deployments answered ${created.status} ${JSON.stringify(created.body)}`);
      const deploymentId = created.body.deploymentId as string;
      await stream.settle(300_000);
      const dispatched = await stack.deps.deployments.get(deploymentId);
      if (dispatched?.counts.inProgress !== hosts.length) throw new Error(`expected ${hosts.length} instances dispatched, found ${JSON.stringify(dispatched?.counts)}`);
      await Promise.all(hosts.map((id) => runAgentOnce(server.url, id, dir)));
      await stream.settle(300_000);
      const done = await stack.deps.deployments.get(deploymentId);
      if (done?.status !== 'Succeeded') throw new Error(`deployment ${deploymentId} ended ${done?.status}`);
      const breakdown = [...stack.meter.byOperation].sort((a, b) => b[1].units - a[1].units);
      for (const [operation, { units, calls }] of breakdown) {
        process.stderr.write(`${label}: ${round2(units / hosts.length)} units/instance in ${calls} calls: ${operation}\n`);
      }
      return { ...stack.meter.totals };
    };

    // Half the fleet first (each host's first deployment, as in the no-op round): with the full fleet's figure it
    // splits the write units into what each instance adds and what the deployment costs whatever its size.
    const half = await measure('half', 0, 'no_op_half_fleet', noop, ids.slice(0, AGENTS / 2));
    const rounds = [
      [1, 'no_op', noop],
      [2, 'noop_hooks_first_on_host', hooks],
      [3, 'noop_hooks_every_hook_runs', hooks],
    ] as const;
    for (const [round, label, bundle] of rounds) {
      const { writeUnits, readUnits } = await measure('all', round, label, bundle, ids);
      figures.push(printFigure({ bench: 'deployment-capacity', metric: `write_units_per_instance_deployment_${label}`, value: round2(writeUnits / AGENTS), unit: 'WCU', n: AGENTS }));
      figures.push(printFigure({ bench: 'deployment-capacity', metric: `read_units_per_instance_deployment_${label}`, value: round2(readUnits / AGENTS), unit: 'RCU', n: AGENTS }));
      if (label === 'no_op') {
        const perInstance = (writeUnits - half.writeUnits) / (AGENTS - AGENTS / 2);
        figures.push(printFigure({ bench: 'deployment-capacity', metric: 'write_units_per_instance_no_op_marginal', value: round2(perInstance), unit: 'WCU', n: AGENTS }));
        figures.push(printFigure({ bench: 'deployment-capacity', metric: 'write_units_per_deployment_no_op_fixed', value: round2(writeUnits - perInstance * AGENTS), unit: 'WCU', n: AGENTS }));
      }
    }
    return figures;
  } finally {
    s3.destroy();
    await server.stop();
    await stream.stop();
    await stack.stop();
    await s3Local.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One real agent process: polls once, runs what it got, reports, exits. */
function runAgentOnce(apiUrl: string, instanceId: string, dir: string): Promise<void> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import', 'tsx', join(root, 'agent/main.ts'), 'run', '--once',
      '--api', apiUrl,
      '--instance-id', instanceId,
      '--state-dir', join(dir, 'agents', instanceId),
      '--root', join(dir, 'hosts', instanceId),
      '--principal', localAgentPrincipal(instanceId),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  endWithThisProcess(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 300_000);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      clearTimeout(deadline);
      if (code === 0) resolve();
      else reject(new Error(`agent ${instanceId} exited ${code}:\n${output}`));
    });
  });
}

const round2 = (n: number) => Math.round(n * 100) / 100;
