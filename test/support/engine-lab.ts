import type { S3Client } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { createDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { keys } from '../../lib/adapters/dynamodb/keys.js';
import type { ApiDeps } from '../../lib/api/deps.js';
import { createApiHandler } from '../../lib/api/handler.js';
import { createStreamHandler } from '../../lib/worker/handle-stream.js';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import type { StreamHandler } from '../../local/stream-poller.js';
import { apiClient } from './api-events.js';
import { TestClock, testApiDeps } from './api-harness.js';
import { type TestTable, createTestTable } from './dynamo.js';
import { EngineCrashed } from './faulty-dynamodb.js';
import { agentPrincipal } from './scripted-agent.js';
import { poll, report } from '../../lib/deployments/agent-protocol.js';
import type { EventsReport } from '../../lib/domain/agent-report.js';
import { StreamTap } from './stream-tap.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

type Item = Record<string, any>;

/** The engine as one process sees it: the API, the worker and the reconciler over one DynamoDB client. */
export interface Engine {
  deps: ApiDeps;
  send: ReturnType<typeof apiClient>;
  worker: StreamHandler;
  /** True once this engine's process has died (a crashing client fired). */
  dead: () => boolean;
  /** Whether its DynamoDB fails at random: a 5xx is then something the caller retries. */
  flaky: boolean;
}

export function engineOver(
  client: DynamoDBClient,
  tableName: string,
  s3: S3Client,
  clock: TestClock,
  options: { dead?: () => boolean; flaky?: boolean } = {},
): Engine {
  const deps = testApiDeps(createDocumentClient(client), tableName, s3, clock);
  return { deps, send: apiClient(createApiHandler(deps)), worker: createStreamHandler(deps), dead: options.dead ?? (() => false), flaky: options.flaky ?? false };
}

/** A server error a client retries (the engine's DynamoDB failed under it). */
export class TransientFailure extends Error {}

/**
 * Whether the caller got an answer it can act on: false when the engine died
 * before answering; a 5xx from a flaky engine is retried (TransientFailure);
 * anything else must be one of `expected`.
 */
export function answered(engine: Engine, res: { status: number; body: unknown }, expected: number[]): boolean {
  if (engine.dead()) return false;
  if (engine.flaky && res.status >= 500) throw new TransientFailure(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  expect(expected, JSON.stringify(res.body)).toContain(res.status);
  return true;
}

/**
 * An agent whose state survives the engine's crashes: it resends a report
 * whose answer was lost (as the real agent's outbox does) and picks its
 * assignment up again by polling. It calls the agent protocol's use cases
 * directly (the HTTP layer in front of them is tested elsewhere).
 */
export class LabAgent {
  private assignment: { deploymentId: string; events: string[] } | undefined;
  private next = 0;
  private stopped = false;
  /** A report sent whose answer was lost: the outbox sends it again, unchanged, before anything else. */
  private unanswered: EventsReport['done'] | undefined;

  constructor(
    readonly instanceId: string,
    /** failAt: that hook fails; holdAt: that hook runs until the agent hears a stop. Each applies to one assignment. */
    private readonly script: { failAt?: string; holdAt?: string } = {},
  ) {}

  /**
   * Polls when it has no work, then reports up to `limit` more events of its
   * assignment as done, in one report. True when it did anything.
   */
  async work(engine: Engine, limit = Infinity): Promise<boolean> {
    const principal = agentPrincipal(this.instanceId);
    if (this.assignment && this.unanswered) return this.send(engine, this.unanswered);
    if (!this.assignment) {
      const polled = await unlessDead(engine, () => poll(principal, this.instanceId, engine.deps));
      if (!polled) return true;
      const found = 'assignment' in polled && polled.assignment && 'events' in polled.assignment ? polled.assignment : undefined;
      if (!found) return false;
      const events = found.events.filter((e) => e.status === 'Pending').map((e) => e.name);
      this.assignment = { deploymentId: found.deploymentId, events };
      this.next = 0;
      this.stopped = 'action' in polled && polled.action === 'stop';
    } else {
      // Between hooks the agent hears of a stop (a heartbeat's answer, or a push): the running hook is killed.
      // As the real agent does, it stops too when the answer no longer names its assignment (it was withdrawn).
      const beat = await unlessDead(engine, () => poll(principal, this.instanceId, engine.deps, { running: this.assignment?.deploymentId }));
      if (!beat) return true;
      if ('action' in beat && beat.action === 'stop') this.stopped = true;
      if (!beat.assignment || beat.assignment.deploymentId !== this.assignment.deploymentId) this.stopped = true;
    }
    const { events } = this.assignment;
    // One report carries every event that finished since the last one, as the agent sends them.
    const done: EventsReport['done'] = [];
    for (let k = this.next; k < events.length && done.length < limit; k++) {
      const event = events[k] as EventsReport['done'][number]['event'];
      if (event === this.script.holdAt && !this.stopped) break; // still running
      const fails = this.stopped || this.script.failAt === event;
      done.push(
        fails
          ? { event, status: 'Failed', exitCode: 1, errorCode: 'ScriptFailed', message: this.stopped ? 'stopped by request' : 'hook exited 1', outputTail: 'boom\n' }
          : { event, status: 'Succeeded', exitCode: 0 },
      );
      if (fails) break;
    }
    if (done.length === 0) return false;
    return this.send(engine, done);
  }

  private async send(engine: Engine, done: EventsReport['done']): Promise<boolean> {
    const { deploymentId } = this.assignment as { deploymentId: string };
    this.unanswered = done;
    const answer = await unlessDead(engine, () => report(agentPrincipal(this.instanceId), { instanceId: this.instanceId, deploymentId, done }, engine.deps));
    if (!answer) return true;
    this.unanswered = undefined;
    this.next += done.length;
    if (answer.instanceStatus !== 'InProgress') {
      this.assignment = undefined;
      this.script.failAt = undefined;
      this.script.holdAt = undefined;
    } else if (answer.action === 'stop') {
      this.stopped = true;
    }
    return true;
  }
}

/** The answer, or undefined when the engine died before giving it. */
async function unlessDead<T>(engine: Engine, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (engine.dead()) return undefined;
    throw error;
  }
}

export interface LabRun {
  table: TestTable;
  tap: StreamTap;
  clock: TestClock;
  healthy: Engine;
  agents: LabAgent[];
}

export type Step<C> = (engine: Engine, context: C, run: LabRun) => Promise<void>;

export interface Scenario<C> {
  setup(run: LabRun): Promise<C>;
  /** What clients, agents and the stream do, in order; each must be safe to run again after a crash (clients retry). */
  steps: Step<C>[];
  /** What this scenario must end with, beyond the engine's invariants. */
  check(items: Item[], context: C, run: LabRun): void;
  /**
   * The writes this scenario is about (matched against their kind): with
   * FAULT_POINTS=sampled it is crashed only next to those (a scenario about
   * executions leaves a deployment's inner writes to the deployment scenarios).
   */
  focus?: RegExp;
  /**
   * Its clients act only once a dead freeze worker's lease has run out (a
   * retry or a stop that follows what the deployment did): without, a crash
   * while freezing lets them act while the dead worker still holds it.
   */
  waitsOutDeadLeases?: boolean;
}

/** Hands the stream's records to the worker until none is left; a worker that keeps failing is a bug. */
export async function settleStream(run: LabRun, engine: Engine = run.healthy): Promise<number> {
  let handled = 0;
  for (let attempt = 0; attempt < (engine.flaky ? 30 : 5); attempt++) {
    const result = await run.tap.deliver(engine.worker);
    handled += result.handled;
    if (result.outcome === 'settled' || engine.dead()) return handled;
  }
  throw new Error('The worker keeps failing on a record (TEST_LOG_LEVEL=ERROR shows why)');
}

/** The errors the flaky client injects, when one gets through every retry to the caller. */
const INJECTED = new Set(['TransactionCanceledException', 'ThrottlingException', 'TimeoutError']);

/** A client's (or the scheduler's, or S3's) retry of a call that failed for a transient reason. */
export async function retried<T>(engine: Engine, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const transient = error instanceof TransientFailure || INJECTED.has((error as Error).name);
      if (!engine.flaky || !transient || attempt >= 20) throw error;
    }
  }
}

const AGENT_CONTACT_SK = keys.agentPresence('any').SK;

/**
 * After a crash: the stream redelivers what the dead worker did not finish,
 * agents carry on, and the reconciler runs every few minutes, until a whole
 * round changes nothing.
 */
export async function quiesce(run: LabRun, engine: Engine = run.healthy): Promise<void> {
  // An agent polling without a channel records its contact every few rounds: that is the agent
  // being there, not the engine moving, so it does not keep the engine from coming to rest.
  const engineChanges = () => run.tap.changes.filter((c) => c.sk !== AGENT_CONTACT_SK).length;
  for (let round = 0; round < 20; round++) {
    const before = engineChanges();
    await settleStream(run, engine);
    let acted = false;
    for (const agent of run.agents) acted = (await retried(engine, () => agent.work(engine))) || acted;
    await settleStream(run, engine);
    run.clock.advance(180);
    await retried(engine, () => reconcileAll(engine.deps));
    await settleStream(run, engine);
    if (!acted && engineChanges() === before) return;
  }
  throw new Error('The engine did not come to rest');
}

/**
 * A worker that died while freezing a deployment's targets holds it until its
 * lease runs out (its Lambda's timeout, in AWS): for a scenario whose clients
 * act on what the deployment did, they act again only once it has, as they
 * would in time. Without one, no time passes.
 */
async function outliveDeadLeases(run: LabRun): Promise<void> {
  const now = run.clock.now().toISOString();
  const until = (await scanAll(run))
    .map((item) => (item.type === 'Deployment' && item.status === 'Created' ? (item.freezeLease?.until as string | undefined) : undefined))
    .filter((t): t is string => t !== undefined && t > now)
    .sort()
    .at(-1);
  if (until) run.clock.advance(Math.ceil((Date.parse(until) - Date.parse(now)) / 1000) + 1);
}

export async function scanAll(run: LabRun): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await run.table.doc.send(new ScanCommand({ TableName: run.table.tableName, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * For each execution and stage (`<executionId> <stage>`), how often the
 * execution took the stage's slot and how often it gave it back, read from the
 * stream's record of every change to the slots.
 */
export function stageEntries(run: LabRun): Map<string, { taken: number; released: number }> {
  const entries = new Map<string, { taken: number; released: number }>();
  const entry = (holder: string, sk: string) => {
    const key = `${holder} ${Number(sk.split('#')[1])}`;
    const found = entries.get(key) ?? { taken: 0, released: 0 };
    entries.set(key, found);
    return found;
  };
  for (const c of run.tap.changes.filter((c) => c.pk.startsWith('PIPELINE#') && c.sk.startsWith('STAGE#'))) {
    const before = c.old?.holder as string | undefined;
    const after = c.new?.holder as string | undefined;
    if (before === after) continue;
    if (before) entry(before, c.sk).released++;
    if (after) entry(after, c.sk).taken++;
  }
  return entries;
}

const COUNTERS = { Pending: 'countPending', InProgress: 'countInProgress', Succeeded: 'countSucceeded', Failed: 'countFailed', Skipped: 'countSkipped', Unknown: 'countUnknown' } as const;

/**
 * What must hold whatever crashed where: every deployment ended, handled and
 * off the active list, its counters equal to its instance items, every
 * instance terminal with no assignment left, each group's lock taken and
 * released exactly once per deployment (read from the stream), and every
 * execution ended, having given back every stage slot it took.
 */
export function checkInvariants(items: Item[], run: LabRun): void {
  const deployments = items.filter((i) => i.type === 'Deployment');
  for (const d of deployments) {
    const where = `deployment ${d.deploymentId}`;
    expect(['Succeeded', 'Failed', 'Stopped'], where).toContain(d.status);
    expect(d.endHandled, `${where} end handled`).toBe(true);
    expect(d.GSI2PK, `${where} left the active list`).toBeUndefined();
    expect(d.openBatches, `${where} has no batch reserved but not dispatched`).toBeUndefined();
    const instances = items.filter((i) => i.type === 'InstanceDeployment' && i.deploymentId === d.deploymentId);
    expect(instances.length, `${where} fleet`).toBe(d.fleetSize);
    for (const [status, counter] of Object.entries(COUNTERS)) {
      expect(d[counter] ?? 0, `${where} ${counter}`).toBe(instances.filter((i) => i.status === status).length);
    }
    expect(d.countOffline ?? 0, `${where} countOffline`).toBe((d.countInProgress ?? 0) + (d.countFailed ?? 0) + (d.countUnknown ?? 0));
    for (const instance of instances) {
      expect(['Succeeded', 'Failed', 'Skipped', 'Unknown'], `${where} ${instance.instanceId}`).toContain(instance.status);
      expect(instance.GSI2PK, `${where} ${instance.instanceId} off the index`).toBeUndefined();
    }
    const group = `GROUP#${d.group}`;
    const lockChanges = run.tap.changes.filter((c) => c.pk === `APP#${d.application}` && c.sk === group);
    const taken = lockChanges.filter((c) => c.old?.activeDeploymentId !== d.deploymentId && c.new?.activeDeploymentId === d.deploymentId);
    const released = lockChanges.filter((c) => c.old?.activeDeploymentId === d.deploymentId && c.new?.activeDeploymentId !== d.deploymentId);
    expect({ taken: taken.length, released: released.length }, `${where} group lock`).toEqual({ taken: 1, released: 1 });
  }
  expect(items.filter((i) => i.type === 'AgentAssignment').map((i) => i.SK), 'assignments left').toEqual([]);
  expect(items.filter((i) => i.type === 'DeploymentGroup' && i.activeDeploymentId).map((i) => i.SK), 'groups still locked').toEqual([]);
  for (const ex of items.filter((i) => i.type === 'Execution')) {
    expect(['Succeeded', 'Failed', 'Stopped', 'Superseded'], `execution ${ex.executionId}`).toContain(ex.status);
  }
  expect(items.filter((i) => i.PK === 'ACTIVE_EXECUTIONS').map((i) => i.SK), 'executions still active').toEqual([]);
  expect(items.filter((i) => String(i.SK).startsWith('STAGE#') && i.holder).map((i) => `${i.PK} ${i.SK}`), 'stage slots held').toEqual([]);
  for (const [slot, { taken, released }] of stageEntries(run)) expect(released, `stage slot ${slot} given back as often as taken`).toBe(taken);
}

/**
 * Runs a scenario on a fresh table with the engine dying right after its
 * `crashAfter`-th write (Infinity: never), then lets a healthy engine take over
 * (the crashed step's client retries, then the rest), settles everything and
 * checks the invariants. Returns how many writes the crashing engine made.
 */
export async function runWithCrash<C>(
  scenario: Scenario<C>,
  crashAfter: number,
  s3: S3Client,
  crashing: (crashAfter: number) => { client: DynamoDBClient; writes: () => number; crashed: () => boolean; kinds: string[] },
): Promise<{ writes: number; crashed: boolean; kinds: string[] }> {
  const table = await createTestTable();
  const tap = await StreamTap.open(table.client, table.tableName);
  const clock = new TestClock();
  const run: LabRun = { table, tap, clock, healthy: engineOver(table.client, table.tableName, s3, clock), agents: [] };
  const crash = crashing(crashAfter);
  try {
    const context = await scenario.setup(run);
    await settleStream(run);
    const dying = engineOver(crash.client, table.tableName, s3, clock, { dead: crash.crashed });
    let step = 0;
    for (; step < scenario.steps.length; step++) {
      try {
        await (scenario.steps[step] as Step<C>)(dying, context, run);
      } catch (error) {
        if (!(error instanceof EngineCrashed) && !crash.crashed()) throw error;
      }
      if (crash.crashed()) break;
    }
    if (crash.crashed() && scenario.waitsOutDeadLeases) await outliveDeadLeases(run);
    for (; step < scenario.steps.length; step++) await (scenario.steps[step] as Step<C>)(run.healthy, context, run);
    await quiesce(run);
    const items = await scanAll(run);
    checkInvariants(items, run);
    scenario.check(items, context, run);
    return { writes: crash.writes(), crashed: crash.crashed(), kinds: crash.kinds };
  } finally {
    crash.client.destroy();
    tap.close();
    await table.drop();
  }
}

/**
 * Runs a scenario on a fresh table with every call of the engine (API, worker,
 * reconciler) going through `client`, which fails at random; clients, agents,
 * the stream and the scheduler retry what failed, as they do in AWS. Then the
 * invariants must hold.
 */
export async function runWithFaults<C>(scenario: Scenario<C>, client: DynamoDBClient, s3: S3Client): Promise<void> {
  const table = await createTestTable();
  const tap = await StreamTap.open(table.client, table.tableName);
  const clock = new TestClock();
  const run: LabRun = { table, tap, clock, healthy: engineOver(table.client, table.tableName, s3, clock), agents: [] };
  try {
    const context = await scenario.setup(run);
    await settleStream(run);
    const flaky = engineOver(client, table.tableName, s3, clock, { flaky: true });
    for (const step of scenario.steps) await retried(flaky, () => step(flaky, context, run));
    await quiesce(run, flaky);
    const items = await scanAll(run);
    checkInvariants(items, run);
    scenario.check(items, context, run);
  } finally {
    tap.close();
    await table.drop();
  }
}
