import { expect } from 'vitest';
import type { Deployment, InstanceDeployment } from '../../lib/domain/deployment.js';
import type { Execution } from '../../lib/domain/pipeline.js';
import type { ApiDeps } from '../../lib/api/deps.js';
import { createApiHandler } from '../../lib/api/handler.js';
import type { Page } from '../../lib/ports.js';
import { type BuildStateChangeEvent, createBuildEventHandler } from '../../lib/worker/handle-build-event.js';
import { createStreamHandler } from '../../lib/worker/handle-stream.js';
import type { FakeBuilds } from '../fakes/aws.js';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import type { StreamHandler } from '../../local/stream-poller.js';
import { apiClient } from './api-events.js';
import { TestClock } from './api-harness.js';
import { EngineCrashed } from '../fakes/store.js';
import type { Change } from '../fakes/store.js';
import { agentPrincipal } from './scripted-agent.js';
import { poll, report } from '../../lib/deployments/agent-protocol.js';
import type { EventsReport } from '../../lib/domain/agent-report.js';

/**
 * The engine lab: scenarios (engine-scenarios.ts, pipeline-scenarios.ts) run
 * against a backend that holds Fleetline's records (the in-memory fakes, or a
 * DynamoDB Local table) while the engine dies after any write or fails at
 * random under them; then the engine's invariants must hold, read through the
 * ports and the backend's change log (its stream).
 */

/** The engine as one process sees it: the API, the worker and the reconciler over one set of dependencies. */
export interface Engine {
  deps: ApiDeps;
  send: ReturnType<typeof apiClient>;
  worker: StreamHandler;
  /** The worker's handler of CodeBuild's build state changes (EventBridge's rule, in AWS). */
  buildEvents: (event: BuildStateChangeEvent) => Promise<void>;
  /** True once this engine's process has died (a crashing client fired). */
  dead: () => boolean;
  /** Whether its storage fails at random: a 5xx is then something the caller retries. */
  flaky: boolean;
}

export function engineOf(deps: ApiDeps, options: { dead?: () => boolean; flaky?: boolean } = {}): Engine {
  return { deps, send: apiClient(createApiHandler(deps)), worker: createStreamHandler(deps), buildEvents: createBuildEventHandler(deps), dead: options.dead ?? (() => false), flaky: options.flaky ?? false };
}

/** An engine that dies right after its `crashAfter`-th write, or (`faultSeed`) fails at random, seeded. */
export interface TestEngine {
  engine: Engine;
  writes: () => number;
  crashed: () => boolean;
  /** What each write did, without whom it did it to (write n is kinds[n - 1]). */
  kinds: string[];
  /** The faults injected so far, by kind. */
  faults: () => Record<string, number>;
  close: () => void;
}

/** Where the lab's records live: the fakes in memory, or a table on DynamoDB Local. */
export interface LabBackend {
  readonly name: string;
  /** Every change to a record, as the stream told it (domain-shaped: test/fakes/store.ts, Change). */
  readonly changes: Change[];
  /** The engine every client falls back on: it never dies. */
  healthy(clock: TestClock): Engine;
  engine(clock: TestClock, options: { crashAfter?: number; faultSeed?: number }): TestEngine;
  /**
   * Hands every stream record not yet handled to `handler`, a batch at a time,
   * keeping a failed record and what follows it for the next delivery, as
   * Lambda's event source mapping does.
   */
  deliver(handler: StreamHandler): Promise<{ outcome: 'settled' | 'failed'; handled: number }>;
  /** What an earlier successful deployment leaves on its group: the revision a rollback returns to. */
  rememberSuccess(application: string, group: string, last: { deploymentId: string; revision: Deployment['revision'] }): Promise<void>;
  /** CodeBuild, where the backend has one (the fakes'). */
  readonly builds?: FakeBuilds | undefined;
  /** A bundle's ETag, as its upload gave it. */
  eTagOf(key: string): string;
  /** Invariants only this backend's storage can show (the DynamoDB adapters' stored offline counter). */
  checkStorage(state: LabState): Promise<void>;
  close(): Promise<void>;
}

/**
 * The lab's clock: it starts now and moves on a millisecond at every reading
 * (and as a scenario advances it), never with the machine's time. Two runs of
 * a scenario read the same times in the same order, so they make the same
 * writes: on the fakes, a whole step takes less than a millisecond of real time,
 * and two contacts of an agent in the same millisecond would record one.
 */
export class LabClock extends TestClock {
  private readonly start = Date.now();
  private ticks = 0;
  override now = () => new Date(this.start + this.offsetMs + ++this.ticks);
}

/** A server error a client retries (the engine's storage failed under it). */
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
  backend: LabBackend;
  clock: TestClock;
  healthy: Engine;
  agents: LabAgent[];
}

export type Step<C> = (engine: Engine, context: C, run: LabRun) => Promise<void>;

/** What the engine left, read through the ports (a healthy engine's), once everything has come to rest. */
export interface LabState {
  /** Every deployment, oldest first. */
  deployments: Deployment[];
  instances: Map<string, InstanceDeployment[]>;
  /** Every execution of every pipeline. */
  executions: Execution[];
  /** Each deployed group's last successful deployment (`<application>/<group>`). */
  lastSuccessful: Map<string, string | undefined>;
}

export interface Scenario<C> {
  setup(run: LabRun): Promise<C>;
  /** What clients, agents and the stream do, in order; each must be safe to run again after a crash (clients retry). */
  steps: Step<C>[];
  /** What this scenario must end with, beyond the engine's invariants. */
  check(state: LabState, context: C, run: LabRun): void;
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
    const result = await run.backend.deliver(engine.worker);
    handled += result.handled;
    if (result.outcome === 'settled' || engine.dead()) return handled;
  }
  throw new Error('The worker keeps failing on a record (TEST_LOG_LEVEL=ERROR shows why)');
}

/** The errors a flaky client injects, when one gets through every retry to the caller. */
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

/**
 * After a crash: the stream redelivers what the dead worker did not finish,
 * agents carry on, and the reconciler runs every few minutes, until a whole
 * round changes nothing.
 */
export async function quiesce(run: LabRun, engine: Engine = run.healthy): Promise<void> {
  // An agent polling without a channel records its contact every few rounds: that is the agent
  // being there, not the engine moving, so it does not keep the engine from coming to rest.
  const engineChanges = () => run.backend.changes.filter((c) => c.type !== 'AgentPresence').length;
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
  const until = (await run.healthy.deps.deployments.listActive())
    .map((d) => (d.status === 'Created' ? d.freezeLease?.until : undefined))
    .filter((t): t is string => t !== undefined && t > now)
    .sort()
    .at(-1);
  if (until) run.clock.advance(Math.ceil((Date.parse(until) - Date.parse(now)) / 1000) + 1);
}

async function everyPage<T>(list: (nextToken?: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    items.push(...page.items);
    token = page.nextToken;
  } while (token);
  return items;
}

/** What the engine left, read through a healthy engine's ports. */
export async function labState(run: LabRun): Promise<LabState> {
  const deps = run.healthy.deps;
  const deployments = (await everyPage((nextToken) => deps.deployments.list({}, { limit: 100, nextToken }))).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const instances = new Map<string, InstanceDeployment[]>();
  const lastSuccessful = new Map<string, string | undefined>();
  for (const d of deployments) {
    instances.set(d.deploymentId, await everyPage((nextToken) => deps.instanceDeployments.list(d.deploymentId, { limit: 100, nextToken })));
    lastSuccessful.set(`${d.application}/${d.group}`, (await deps.deployments.lastSuccessfulRevision(d.application, d.group))?.deploymentId);
  }
  const executions: Execution[] = [];
  for (const pipeline of await everyPage((nextToken) => deps.pipelines.list({ limit: 100, nextToken }))) {
    executions.push(...(await everyPage((nextToken) => deps.executions.listByPipeline(pipeline.name, { limit: 100, nextToken }))));
  }
  return { deployments, instances, executions, lastSuccessful };
}

/** Each record's last state in the change log, by type and identity. */
function lastStates(run: LabRun, type: string): Map<string, Record<string, any> | undefined> {
  const last = new Map<string, Record<string, any> | undefined>();
  for (const c of run.backend.changes) if (c.type === type) last.set(c.id, c.new);
  return last;
}

/**
 * For each execution and stage (`<executionId> <stage>`), how often the
 * execution took the stage's slot and how often it gave it back, read from the
 * stream's record of every change to the slots.
 */
export function stageEntries(run: LabRun): Map<string, { taken: number; released: number }> {
  const entries = new Map<string, { taken: number; released: number }>();
  const entry = (holder: string, slot: string) => {
    const key = `${holder} ${Number(slot.split('/').pop())}`;
    const found = entries.get(key) ?? { taken: 0, released: 0 };
    entries.set(key, found);
    return found;
  };
  for (const c of run.backend.changes.filter((c) => c.type === 'StageSlot')) {
    const before = c.old?.holder as string | undefined;
    const after = c.new?.holder as string | undefined;
    if (before === after) continue;
    if (before) entry(before, c.id).released++;
    if (after) entry(after, c.id).taken++;
  }
  return entries;
}

/**
 * What must hold whatever crashed where: every deployment ended, handled and
 * off the active list, its counters equal to its instance items, every
 * instance terminal, off the pending and running indexes, with no assignment
 * left, each group's lock taken and released exactly once per deployment
 * (read from the stream), and every execution ended, having given back every
 * stage slot it took.
 */
export async function checkInvariants(state: LabState, run: LabRun): Promise<void> {
  const deps = run.healthy.deps;
  const active = new Set((await deps.deployments.listActive()).map((d) => d.deploymentId));
  for (const d of state.deployments) {
    const where = `deployment ${d.deploymentId}`;
    expect(['Succeeded', 'Failed', 'Stopped'], where).toContain(d.status);
    expect(d.endHandled, `${where} end handled`).toBe(true);
    expect(active.has(d.deploymentId), `${where} left the active list`).toBe(false);
    expect(d.openBatches, `${where} has no batch reserved but not dispatched`).toBeUndefined();
    const instances = state.instances.get(d.deploymentId) ?? [];
    expect(instances.length, `${where} fleet`).toBe(d.fleetSize);
    const counted = { pending: 'Pending', inProgress: 'InProgress', succeeded: 'Succeeded', failed: 'Failed', skipped: 'Skipped', unknown: 'Unknown' } as const;
    for (const [counter, status] of Object.entries(counted)) {
      expect(d.counts[counter as keyof typeof counted], `${where} count ${counter}`).toBe(instances.filter((i) => i.status === status).length);
    }
    for (const instance of instances) {
      expect(['Succeeded', 'Failed', 'Skipped', 'Unknown'], `${where} ${instance.instanceId}`).toContain(instance.status);
    }
    expect(await deps.instanceDeployments.pendingCandidates(d.deploymentId, 1000), `${where} instances off the pending index`).toEqual([]);
    expect(await deps.instanceDeployments.runningIds(d.deploymentId), `${where} instances off the running index`).toEqual([]);
    const lockChanges = run.backend.changes.filter((c) => c.type === 'DeploymentGroup' && c.id === `${d.application}/${d.group}`);
    const taken = lockChanges.filter((c) => c.old?.activeDeploymentId !== d.deploymentId && c.new?.activeDeploymentId === d.deploymentId);
    const released = lockChanges.filter((c) => c.old?.activeDeploymentId === d.deploymentId && c.new?.activeDeploymentId !== d.deploymentId);
    // Stopped while queued, it never took its group.
    const ran = !(d.queuedAt && !d.dequeuedAt);
    if (!ran) expect([d.status, d.fleetSize], `${where} stopped while queued`).toEqual(['Stopped', 0]);
    expect({ taken: taken.length, released: released.length }, `${where} group lock`).toEqual(ran ? { taken: 1, released: 1 } : { taken: 0, released: 0 });
  }
  const assigned = [];
  for (const agent of run.agents) if (await deps.instanceDeployments.findAssignment(agent.instanceId)) assigned.push(agent.instanceId);
  expect(assigned, 'assignments left').toEqual([]);
  const locked = [...lastStates(run, 'DeploymentGroup')].filter(([, group]) => group?.activeDeploymentId).map(([id]) => id);
  expect(locked, 'groups still locked').toEqual([]);
  for (const ex of state.executions) {
    expect(['Succeeded', 'Failed', 'Stopped', 'Superseded'], `execution ${ex.executionId}`).toContain(ex.status);
  }
  expect(await deps.executions.listActive(), 'executions still active').toEqual([]);
  const held = [...lastStates(run, 'StageSlot')].filter(([, slot]) => slot?.holder).map(([id]) => id);
  expect(held, 'stage slots held').toEqual([]);
  for (const [slot, { taken, released }] of stageEntries(run)) expect(released, `stage slot ${slot} given back as often as taken`).toBe(taken);
  await run.backend.checkStorage(state);
}

/** Opens a backend for one run: each run has records of its own. */
export type Lab = () => Promise<LabBackend>;

/**
 * Runs a scenario on fresh records with the engine dying right after its
 * `crashAfter`-th write (Infinity: never), then lets a healthy engine take over
 * (the crashed step's client retries, then the rest), settles everything and
 * checks the invariants. Returns how many writes the crashing engine made.
 */
export async function runWithCrash<C>(scenario: Scenario<C>, crashAfter: number, lab: Lab): Promise<{ writes: number; crashed: boolean; kinds: string[] }> {
  const backend = await lab();
  const clock = new LabClock();
  const run: LabRun = { backend, clock, healthy: backend.healthy(clock), agents: [] };
  const crash = backend.engine(clock, { crashAfter });
  try {
    const context = await scenario.setup(run);
    await settleStream(run);
    const dying = crash.engine;
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
    const state = await labState(run);
    await checkInvariants(state, run);
    scenario.check(state, context, run);
    return { writes: crash.writes(), crashed: crash.crashed(), kinds: crash.kinds };
  } finally {
    crash.close();
    await backend.close();
  }
}

/**
 * Runs a scenario on fresh records with every call of the engine (API, worker,
 * reconciler) going through storage that fails at random (`seed`); clients,
 * agents, the stream and the scheduler retry what failed, as they do in AWS.
 * Then the invariants must hold. Returns the faults injected, by kind.
 */
export async function runWithFaults<C>(scenario: Scenario<C>, seed: number, lab: Lab): Promise<Record<string, number>> {
  const backend = await lab();
  const clock = new LabClock();
  const run: LabRun = { backend, clock, healthy: backend.healthy(clock), agents: [] };
  const flaky = backend.engine(clock, { faultSeed: seed });
  try {
    const context = await scenario.setup(run);
    await settleStream(run);
    for (const step of scenario.steps) await retried(flaky.engine, () => step(flaky.engine, context, run));
    await quiesce(run, flaky.engine);
    const state = await labState(run);
    await checkInvariants(state, run);
    scenario.check(state, context, run);
    return flaky.faults();
  } finally {
    flaky.close();
    await backend.close();
  }
}
