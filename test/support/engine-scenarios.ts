import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import type { Deployment } from '../../lib/domain/deployment.js';
import { CATCH_UP_CREATOR } from '../../lib/domain/catch-up.js';
import { startPipelinesFor } from '../../lib/artifacts/start-pipelines.js';
import { advanceDeployment } from '../../lib/worker/advance-deployment.js';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import type { ArtifactUpload } from '../../lib/domain/artifact-upload.js';
import { putBundle } from './bundles.js';
import { TestClock, testS3Client } from './api-harness.js';
import { type TestTable, createTestTable } from './dynamo.js';
import { type Engine, LabAgent, type LabRun, type LabState, type Scenario, type Step, answered, settleStream } from './engine-lab.js';
import { engineOver } from './dynamo-lab.js';

/** Scenarios the engine must finish whatever fails under it (test/integration/engine-crashes and engine-faults). */

export const BUCKET = 'fleetline-test-artifacts';

/** The bundles the scenarios deploy (each holding a minimal appspec). */
export const SCENARIO_BUNDLES = ['web/app-1.zip', 'web/app-2.zip', 'web/pipe/app-3.zip'] as const;

/** Uploads the scenario bundles to the run's S3; returns their ETags by key. */
export async function uploadScenarioBundles(s3: S3Client): Promise<Map<string, string>> {
  const eTags = new Map<string, string>();
  for (const key of SCENARIO_BUNDLES) eTags.set(key, await putBundle(s3, BUCKET, key));
  return eTags;
}

export const ok = async (engine: Engine, request: Promise<{ status: number; body: any }>, allowed: number[]) => {
  const res = await request;
  answered(engine, res, allowed);
  return res;
};

export async function registerFleet(run: LabRun, app: string, group: string, size: number, settings: Record<string, unknown>, script: { failAt?: string; holdAt?: string } = {}) {
  const { send } = run.healthy;
  await ok(run.healthy, send('PUT', `/applications/${app}`, { body: { revisionSources: [{ bucket: BUCKET, prefix: 'web/' }] } }), [200, 201]);
  const tag = { key: 'fleet', value: `${app}-${group}` };
  await ok(run.healthy, send('PUT', `/applications/${app}/groups/${group}`, { body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] }, ...settings } }), [201]);
  const agents: LabAgent[] = [];
  for (let i = 0; i < size; i++) {
    const agent = new LabAgent(`${group}-host-${i}`, { ...script });
    await ok(run.healthy, send('PUT', `/instances/${agent.instanceId}`, { body: { tags: [tag] } }), [201]);
    agents.push(agent);
  }
  run.agents.push(...agents);
  return agents;
}

/** Every deployment, oldest first. */
export const deploymentsOf = (state: LabState): Deployment[] => state.deployments;

/** The revision a rollback returns to: what an earlier successful deployment left on its group. */
export const EARLIER_SUCCESS = { deploymentId: 'd-EARLIER01', revision: { bucket: BUCKET, key: 'web/app-1.zip', bundleType: 'zip' as const } };

async function rememberSuccess(run: LabRun, app: string, group: string): Promise<void> {
  await run.backend.rememberSuccess(app, group, EARLIER_SUCCESS);
}

type DeployContext = { deploymentId?: string; agents: LabAgent[] };

/** The request that creates the deployment (its client retries it with the same token). */
const createStep = (app: string): Step<DeployContext> => async (engine, c) => {
  const res = await ok(engine, engine.send('POST', '/deployments', {
    body: { application: app, group: 'prod', revision: { bucket: BUCKET, key: 'web/app-2.zip' }, idempotencyToken: 'build-2' },
  }), [200, 201]);
  if (!engine.dead()) c.deploymentId = res.body.deploymentId;
};
const worker: Step<DeployContext> = async (engine, _c, run) => void (await settleStream(run, engine));
const agent = (i: number, limit?: number): Step<DeployContext> => async (engine, c) => void (await c.agents[i]!.work(engine, limit));

/**
 * Three hosts, two at a time: one host is mid-way, one was handed its work
 * but never picked it up, one waits; then the deployment is stopped.
 */
export const stopMidway: Scenario<DeployContext> = {
  async setup(run) {
    return { agents: await registerFleet(run, 'shop', 'prod', 3, { deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 1 } } }) };
  },
  steps: [
    createStep('shop'),
    worker,
    agent(0, 2),
    async (engine, c) => void (await ok(engine, engine.send('POST', `/deployments/${c.deploymentId}/stop`, { body: { rollback: false } }), [202, 409])),
    worker,
    agent(0),
    worker,
  ],
  check(state, c) {
    expect(deploymentsOf(state)).toHaveLength(1);
    const [deployment] = deploymentsOf(state);
    expect(deployment).toMatchObject({ deploymentId: c.deploymentId, status: 'Stopped', error: { code: 'StoppedByRequest' } });
    // A crash while the targets were being frozen holds the freeze until the dead worker's lease has run out:
    // the stop then comes before any host started, and what the dead worker froze (maybe nothing) is skipped.
    const stoppedFirst = !deployment?.startedAt || (deployment.stopRequested?.at ?? '') <= deployment.startedAt;
    if (stoppedFirst) expect([deployment?.counts.failed, deployment?.counts.skipped]).toEqual([0, deployment?.fleetSize ?? 0]);
    else expect(deployment?.counts).toMatchObject({ failed: 1, skipped: 2 });
  },
};

/**
 * Sixty hosts, fifty-five at a time, so that every many-item step crosses its
 * page: the freeze writes three pages of items, the batch is dispatched as two
 * chunks, and the stop withdraws two chunks of work nobody picked up. One host
 * has started when the stop comes; it finishes its work.
 */
export const wideStop: Scenario<DeployContext> = {
  async setup(run) {
    return { agents: await registerFleet(run, 'shop', 'prod', 60, { deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 5 } } }) };
  },
  steps: [createStep('shop'), worker, agent(0, 1), async (engine, c, run) => stopStep(engine, c, run), worker, agent(0), worker],
  check(state, c) {
    const [deployment] = deploymentsOf(state);
    expect(deploymentsOf(state)).toHaveLength(1);
    expect(deployment).toMatchObject({ deploymentId: c.deploymentId, status: 'Stopped', error: { code: 'StoppedByRequest' } });
    // A crash while freezing leaves the freeze, and so the stop, to a later worker: fewer items, all skipped.
    const stoppedFirst = !deployment?.startedAt || (deployment.stopRequested?.at ?? '') <= deployment.startedAt;
    if (!stoppedFirst) expect(deployment).toMatchObject({ fleetSize: 60, counts: { skipped: 59 } });
    else expect(deployment?.counts.skipped).toBe(deployment?.fleetSize ?? 0);
  },
};

const stopStep: Step<DeployContext> = async (engine, c) =>
  void (await ok(engine, engine.send('POST', `/deployments/${c.deploymentId}/stop`, { body: { rollback: false } }), [202, 409]));

/**
 * The stop lands while the worker is still writing the instance items (it
 * has written one of three), and a second worker (the stop's own stream
 * record) and the reconciler run before it writes the rest, as they may on
 * AWS. Every instance must still end Skipped and counted.
 */
export const stoppedWhileFreezing: Scenario<DeployContext> = {
  async setup(run) {
    return { agents: await registerFleet(run, 'shop', 'prod', 3, {}) };
  },
  steps: [
    createStep('shop'),
    async (engine, c, run) => {
      const repository = engine.deps.instanceDeployments;
      const putAll = repository.putAll.bind(repository);
      let stopped = false;
      repository.putAll = async (items) => {
        await putAll(items.slice(0, 1));
        await stopStep(engine, c, run);
        stopped = true;
        await advanceDeployment(c.deploymentId as string, engine.deps);
        await reconcileAll(engine.deps);
        await putAll(items.slice(1));
      };
      try {
        await settleStream(run, engine);
      } finally {
        repository.putAll = putAll;
      }
      // Retried after a crash that came before the items were written: the stop is still asked for.
      if (!stopped) await stopStep(engine, c, run);
    },
    worker,
  ],
  check(state, c) {
    expect(deploymentsOf(state)).toHaveLength(1);
    const [stopped] = deploymentsOf(state);
    expect(stopped).toMatchObject({ deploymentId: c.deploymentId, status: 'Stopped', error: { code: 'StoppedByRequest' } });
    // Every host when the stop waited for the freeze; when a crash left the freeze to a later worker, only
    // what the crashed one wrote (a stop freezes nothing more). Either way all of them are counted skipped.
    expect(stopped?.counts.skipped).toBe(stopped?.fleetSize ?? 0);
    expect(stopped?.counts.skipped).toBeLessThanOrEqual(3);
  },
};

/** A host fails its Install hook: the deployment fails and is rolled back to the last good revision. */
export const failAndRollBack: Scenario<DeployContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'shop', 'prod', 1, { autoRollback: { enabled: true, events: ['DEPLOYMENT_FAILURE'] } }, { failAt: 'Install' });
    // The host joined before that success (an instance joining after it would catch up to it).
    await settleStream(run);
    await rememberSuccess(run, 'shop', 'prod');
    return { agents };
  },
  steps: [createStep('shop'), worker, agent(0), worker, agent(0), worker],
  check(state, c) {
    const [failed, rollback] = deploymentsOf(state);
    expect(deploymentsOf(state)).toHaveLength(2);
    expect(failed).toMatchObject({ deploymentId: c.deploymentId, status: 'Failed', rolledBackBy: rollback?.deploymentId, counts: { failed: 1 } });
    expect(rollback).toMatchObject({ status: 'Succeeded', rollbackOf: c.deploymentId, revision: { key: 'web/app-1.zip' }, counts: { succeeded: 1 } });
    expect(state.lastSuccessful.get('shop/prod')).toBe(rollback?.deploymentId);
  },
};

/** A hook role STS refuses (the in-memory STS refuses every role named refused-…). */
export const REFUSED_HOOK_ROLE = 'arn:aws:iam::111122223333:role/fleetline/refused-hooks';

/**
 * The group's hook role cannot be assumed: each host's poll fails its instance
 * at once, naming the role and STS's answer, and withdraws the work in the same
 * write (no lease is taken for work that cannot start). The deployment fails;
 * no instance is left running or waiting on a lease.
 */
export const hookCredentialsRefused: Scenario<DeployContext> = {
  async setup(run) {
    return { agents: await registerFleet(run, 'shop', 'prod', 2, { hookRoleArn: REFUSED_HOOK_ROLE, deploymentConfig: 'AllAtOnce' }) };
  },
  steps: [createStep('shop'), worker, agent(0), agent(1), worker, agent(0), agent(1), worker],
  check(state, c) {
    const [deployment] = deploymentsOf(state);
    expect(deploymentsOf(state)).toHaveLength(1);
    expect(deployment).toMatchObject({ deploymentId: c.deploymentId, status: 'Failed', counts: { inProgress: 0, pending: 0, succeeded: 0 } });
    expect(deployment?.error?.message).toContain(REFUSED_HOOK_ROLE);
    const instances = state.instances.get(c.deploymentId ?? '') ?? [];
    expect(instances.length).toBe(2);
    for (const instance of instances) {
      expect(['Failed', 'Skipped']).toContain(instance.status);
      if (instance.status === 'Failed') expect(JSON.stringify(instance.events)).toContain('STS answered AccessDenied');
    }
  },
};

type QueueContext = { ids: Record<string, string>; agents: LabAgent[] };

/** A request to a QUEUE group (its client retries it with the same token): 201 Created or Queued, 200 on a retry that took effect. */
const queueStep = (name: string, revision: string): Step<QueueContext> => async (engine, c) => {
  const res = await ok(engine, engine.send('POST', '/deployments', {
    body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key: revision }, idempotencyToken: `build-${name}` },
  }), [200, 201]);
  if (!engine.dead()) c.ids[name] = res.body.deploymentId;
};

/**
 * A QUEUE group: A runs while B, C and D are queued behind it; C is stopped
 * while queued; then the group frees twice (A ends, B ends), each time a crash
 * may cut the end, the hand-over or the start short. B then D must start, in
 * that order, each once; C never.
 */
export const queueWhileBusy: Scenario<QueueContext> = {
  async setup(run) {
    return { ids: {}, agents: await registerFleet(run, 'shop', 'prod', 1, { busyBehavior: 'QUEUE' }) };
  },
  steps: [
    queueStep('a', 'web/app-1.zip'),
    async (engine, _c, run) => void (await settleStream(run, engine)),
    queueStep('b', 'web/app-2.zip'),
    queueStep('c', 'web/app-1.zip'),
    queueStep('d', 'web/app-2.zip'),
    async (engine, c, run) => {
      await ok(engine, engine.send('POST', `/deployments/${c.ids.c}/stop`, { body: {} }), [202, 409]);
      await settleStream(run, engine);
    },
    async (engine, c) => void (await c.agents[0]!.work(engine)),
    async (engine, _c, run) => void (await settleStream(run, engine)),
    async (engine, c) => void (await c.agents[0]!.work(engine)),
    async (engine, _c, run) => void (await settleStream(run, engine)),
    async (engine, c) => void (await c.agents[0]!.work(engine)),
    async (engine, _c, run) => void (await settleStream(run, engine)),
  ],
  check(state, c) {
    const byId = new Map(deploymentsOf(state).map((d) => [d.deploymentId, d]));
    expect(deploymentsOf(state)).toHaveLength(4);
    const [a, b, cc, d] = ['a', 'b', 'c', 'd'].map((name) => byId.get(c.ids[name] as string));
    expect(a).toMatchObject({ status: 'Succeeded', counts: { succeeded: 1 } });
    expect(a?.queuedAt).toBeUndefined();
    for (const queued of [b, d]) expect(queued).toMatchObject({ status: 'Succeeded', counts: { succeeded: 1 }, queuedAt: queued?.createdAt, dequeuedAt: expect.any(String) });
    // Creation order: B left the queue before D, and D started only once B had ended.
    expect(String(b?.dequeuedAt) < String(d?.dequeuedAt)).toBe(true);
    expect(String(d?.startedAt) >= String(b?.completedAt)).toBe(true);
    expect(cc).toMatchObject({ status: 'Stopped', error: { code: 'StoppedByRequest' }, fleetSize: 0 });
    expect(cc?.dequeuedAt).toBeUndefined();
  },
};

type CatchUpContext = DeployContext & { late: LabAgent };

/**
 * An instance joins a group that has succeeded before while the group is busy
 * with a newer revision: its catch-up is queued and, once the running deployment
 * has succeeded, deploys that newer revision to it alone. Whatever crashed where,
 * the new instance ends with the group's last successful revision, deployed to it
 * once: by its catch-up, or (a crash cut the running deployment's freeze short, so
 * the worker that took it over found the new instance) by the running deployment,
 * the catch-up then ending unneeded.
 */
export const catchUpWhileBusy: Scenario<CatchUpContext> = {
  async setup(run) {
    const agents = await registerFleet(run, 'shop', 'prod', 1, {});
    // The host joined before that success; the late one joins after it.
    await settleStream(run);
    await rememberSuccess(run, 'shop', 'prod');
    return { agents, late: new LabAgent('late-host') };
  },
  steps: [
    createStep('shop'),
    worker,
    async (engine, c, run) => {
      if (!run.agents.includes(c.late)) run.agents.push(c.late);
      await ok(engine, engine.send('PUT', `/instances/${c.late.instanceId}`, { body: { tags: [{ key: 'fleet', value: 'shop-prod' }] } }), [200, 201]);
    },
    worker,
    agent(0),
    worker,
    async (engine, c) => void (await c.late.work(engine)),
    worker,
  ],
  check(state, c) {
    const [running, ...rest] = deploymentsOf(state);
    expect(running).toMatchObject({ deploymentId: c.deploymentId, status: 'Succeeded', revision: { key: 'web/app-2.zip' } });
    expect(rest).toHaveLength(1);
    const catchUp = rest[0] as Deployment;
    expect(catchUp).toMatchObject({ creator: CATCH_UP_CREATOR, targetInstances: { instanceIds: ['late-host'] }, catchUp: { instanceId: 'late-host' } });
    // The group's last success, on the new instance, once.
    const succeeded = [running, catchUp].filter((d) => state.instances.get(d!.deploymentId)?.some((i) => i.instanceId === 'late-host' && i.status === 'Succeeded'));
    expect(succeeded).toHaveLength(1);
    if (catchUp.status === 'Succeeded') {
      expect(catchUp).toMatchObject({ revision: { key: 'web/app-2.zip' }, catchUp: { revisionOf: c.deploymentId }, counts: { succeeded: 1 } });
    } else {
      expect(catchUp).toMatchObject({ status: 'Stopped', error: { code: 'CatchUpNotNeeded' }, fleetSize: 0 });
      expect(succeeded[0]?.deploymentId).toBe(c.deploymentId);
    }
    expect(state.lastSuccessful.get('shop/prod')).toBe(catchUp.status === 'Succeeded' ? catchUp.deploymentId : c.deploymentId);
  },
};

/** An upload starts a pipeline that deploys to staging, then to prod. */
export const pipelineAdvance: Scenario<{ agents: LabAgent[]; upload: ArtifactUpload }> = {
  async setup(run) {
    const staging = await registerFleet(run, 'web', 'staging', 1, {});
    const prod = await registerFleet(run, 'web', 'prod', 1, {});
    const stages = ['staging', 'prod'].map((group) => ({ name: group, actions: [{ type: 'deploy', application: 'web', group }] }));
    await ok(run.healthy, run.healthy.send('PUT', '/pipelines/web', { body: { source: { bucket: BUCKET, prefix: 'web/pipe/', suffix: '.zip' }, stages } }), [201]);
    const upload: ArtifactUpload = {
      bucket: BUCKET, key: 'web/pipe/app-3.zip', versionId: 'v1', eTag: run.backend.eTagOf('web/pipe/app-3.zip'), size: 10, sequencer: '0000000000000A0000',
      eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), uploader: 'AWS:ci',
    };
    return { agents: [...staging, ...prod], upload };
  },
  steps: [
    async (engine, c) => void (await startPipelinesFor(c.upload, engine.deps)),
    async (engine, _c, run) => void (await settleStream(run, engine)),
    async (engine, c) => void (await c.agents[0]!.work(engine)),
    async (engine, _c, run) => void (await settleStream(run, engine)),
    async (engine, c) => void (await c.agents[1]!.work(engine)),
    async (engine, _c, run) => void (await settleStream(run, engine)),
  ],
  check(state) {
    const executions = state.executions;
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({ status: 'Succeeded' });
    const deployments = deploymentsOf(state);
    expect(deployments.map((d) => `${d.group}:${d.status}`)).toEqual(['staging:Succeeded', 'prod:Succeeded']);
    for (const d of deployments) expect(d.pipelineAction?.executionId).toBe(executions[0]?.executionId);
  },
};


/**
 * For a test file that drives the engine by hand: the run's S3 with the
 * scenario bundles, and for each test a fresh table, clock and engine.
 */
export function useEngine() {
  const lab = {} as { s3: S3Client; table: TestTable; clock: TestClock; engine: Engine };
  beforeAll(async () => {
    lab.s3 = testS3Client();
    await uploadScenarioBundles(lab.s3);
  });
  afterAll(() => lab.s3?.destroy());
  beforeEach(async () => {
    lab.table = await createTestTable();
    lab.clock = new TestClock();
    lab.engine = engineOver(lab.table.client, lab.table.tableName, lab.s3, lab.clock);
  });
  afterEach(async () => lab.table?.drop());
  return lab;
}
