import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { applySteps, failBeforeStart, reportSteps, skipRemaining } from '../domain/agent-report.js';
import type { Deployment, InstanceDeployment } from '../domain/deployment.js';
import { unquoteETag } from '../domain/etag.js';
import { type IssuedCredentials, hookSessionName } from '../domain/credentials.js';
import { roleOutOfScope } from '../domain/role-arn.js';
import { mayActAsAgent } from '../domain/identity.js';
import { contactIsDue, lapsed } from '../domain/agent-presence.js';
import { earlierWatch, watchTime } from '../domain/watch-time.js';
import { followSecondsLeft } from '../domain/live-log.js';
import {
  type AgentAction as WireAgentAction,
  type assignmentSchema,
  type heartbeatAnswerSchema,
  type hookCredentialsSchema,
  type pollAnswerSchema,
  type reportAnswerSchema,
  type ReportRequest,
} from '../domain/agent-wire.js';
import { ConflictError, DependencyError, FleetlineError, ForbiddenError, NotFoundError, ThrottledError } from '../errors.js';
import { logger } from '../logger.js';
import { type EngineDeps, plusSeconds, roleScopeOf } from './engine-deps.js';

/** The answers' shapes are the wire contract (lib/domain/agent-wire.ts); these are what the use cases build. */
export type AgentAction = WireAgentAction;
export type Assignment = z.input<typeof assignmentSchema>;
export type PollAnswer = z.input<typeof pollAnswerSchema> | z.input<typeof heartbeatAnswerSchema>;

/** Temporary credentials for hooks, when the group names a hookRoleArn. */
export type HookCredentials = z.input<typeof hookCredentialsSchema>;

/**
 * Hooks act with the group's hook role, not the instance's: the session is tagged
 * with the deployment and instance, and its session policy forbids IAM, STS and
 * Organizations calls whatever the role allows.
 */
export const HOOK_SESSION_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: '*', Resource: '*' },
    { Effect: 'Deny', Action: ['iam:*', 'sts:*', 'organizations:*'], Resource: '*' },
  ],
});

const HOOK_SESSION_SECONDS = 3600;

/**
 * The hook credentials for one instance's assignment: none when the group names
 * no hook role, `refused` (naming the role and why) when they cannot be issued
 * as things stand: the role fails the rule every assumed role passes (checked
 * again at each issue: the deploy parameters may have changed since the group
 * was set), or STS refuses it. STS throttling or failing passes: it is thrown,
 * as a retryable error answer, and nothing is written. Each issue is audited
 * like POST /credentials (the agent that got it, who set the role, the
 * deployment and instance; never the secret) before it is handed out.
 */
async function hookCredentials(
  callerArn: string,
  deployment: Deployment,
  instanceId: string,
  deps: EngineDeps,
): Promise<{ credentials?: HookCredentials } | { refused: string }> {
  const roleArn = deployment.hookRoleArn;
  if (!roleArn || !deps.issuer) return {};
  const outside = roleOutOfScope(roleArn, roleScopeOf(deps));
  if (outside) return { refused: `Hook credentials cannot be issued for the group's hookRoleArn: ${outside}` };
  const sessionName = hookSessionName(deployment.deploymentId, instanceId);
  let issued: IssuedCredentials;
  try {
    issued = await deps.issuer.assumeRole({
      roleArn,
      sessionName,
      sourceIdentity: 'fleetline-hooks',
      durationSeconds: HOOK_SESSION_SECONDS,
      policy: HOOK_SESSION_POLICY,
      tags: [
        { key: 'fleetline-deployment', value: deployment.deploymentId },
        { key: 'fleetline-instance', value: instanceId },
      ],
    });
  } catch (error) {
    if (!(error instanceof FleetlineError) || error instanceof ThrottledError || error instanceof DependencyError) throw error;
    const answer = typeof error.cause === 'string' ? ` STS answered ${error.cause}.` : '';
    return { refused: `Hook credentials for the group's hookRoleArn ${roleArn} could not be issued.${answer} ${error.message}`.slice(0, 2000) };
  }
  const entry = {
    id: randomUUID(),
    caller: callerArn,
    roleArn,
    sessionName,
    issuedAt: deps.clock.now().toISOString(),
    expiration: issued.expiration,
    durationSeconds: HOOK_SESSION_SECONDS,
    configuredBy: deployment.hookRoleSetBy ?? 'unknown (set before Fleetline recorded it)',
    deploymentId: deployment.deploymentId,
    instanceId,
  };
  await deps.audit.record(entry);
  logger.info('Hook credentials issued', { ...entry }); // the entry holds no secret
  return { credentials: { accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken, expiration: issued.expiration } };
}

/**
 * The caller must be this instance's agent: its EC2 session, or the principal
 * bound at registration. The HTTP agent routes and the control channel's
 * $connect both decide with this.
 */
export async function authorizeAgent(
  callerArn: string,
  instanceId: string,
  deps: Pick<EngineDeps, 'instances' | 'agentRoleNames' | 'agentAccounts'>,
): Promise<void> {
  const registered = await deps.instances.get(instanceId);
  if (!mayActAsAgent(callerArn, instanceId, registered?.iamArn, { roleNames: deps.agentRoleNames, accounts: deps.agentAccounts })) {
    throw new ForbiddenError(`${callerArn} may not act as the agent of instance ${instanceId}`);
  }
}

/**
 * A read started beside the caller's authorization, to save its round trip:
 * nothing of it is used, and none of its errors is shown, unless the caller
 * passes the check (its rejection is handled until then).
 */
export function afterCheck<T>(read: Promise<T>): Promise<T> {
  read.catch(() => undefined);
  return read;
}

/** Stop when the deployment was stopped or failed; one that just succeeded leaves nothing to stop. */
function actionFor(deployment: Deployment): AgentAction {
  return deployment.stopRequested || deployment.status === 'Failed' || deployment.status === 'Stopped' ? 'stop' : 'continue';
}

/** Heartbeats and reports renew the lease only once half of it is gone: most of them write no lease. */
function leaseIsDue(instance: InstanceDeployment, now: Date, deps: EngineDeps): boolean {
  const leftMs = instance.leaseExpiresAt ? Date.parse(instance.leaseExpiresAt) - now.getTime() : 0;
  return leftMs < (deps.timings.leaseSeconds * 1000) / 2;
}

/** The lease and the reconciler's watch time after a report, each written only when it must change. */
function watchChanges(instance: InstanceDeployment, events: InstanceDeployment['events'], now: Date, deps: EngineDeps) {
  const renewed = leaseIsDue(instance, now, deps) ? plusSeconds(now, deps.timings.leaseSeconds) : undefined;
  const watchAt = earlierWatch(instance.watchAt, watchTime({ events }, renewed ?? (instance.leaseExpiresAt as string)));
  return { ...(renewed ? { leaseExpiresAt: renewed } : {}), ...(watchAt ? { watchAt } : {}) };
}

/** What every poll answer tells the agent: where its control channel is (an agent installed without --channel learns it here), and the minimum version. */
function toldBy(deps: EngineDeps) {
  return { ...(deps.channelUrl ? { channelUrl: deps.channelUrl } : {}), minimumAgentVersion: deps.minimumAgentVersion };
}

/**
 * A poll that takes nothing (`noLease`: the agent's --check): authorized as
 * any poll, answered idle whatever waits for the instance, and nothing is read
 * or written but the caller's registration.
 */
export async function probe(callerArn: string, instanceId: string, deps: EngineDeps): Promise<PollAnswer> {
  await authorizeAgent(callerArn, instanceId, deps);
  return { assignment: null, pollAfterSeconds: deps.timings.pollIntervalSeconds, ...toldBy(deps) };
}

/** How many deployments one poll fails for hook credentials before it answers idle (the next poll goes on). */
const MAX_UNSTARTABLE_PER_POLL = 3;

/**
 * One round trip gives an agent its whole assignment (every lifecycle event),
 * and renews its lease. With nothing to do, the agent sleeps `pollAfterSeconds`.
 * Work that cannot start (its hook role refused) fails at once and the same
 * poll goes on to the instance's next assignment, from another group.
 */
export async function poll(
  callerArn: string,
  instanceId: string,
  deps: EngineDeps,
  heartbeat?: { running?: string | undefined },
  agentVersion: string | null = null,
): Promise<PollAnswer> {
  // A heartbeat naming its deployment checks in for that one only: work for another group waits to be polled for.
  // Otherwise one Query reads the inbox with the agent's recorded contact and channel.
  const checkIn = heartbeat?.running ? undefined : afterCheck(deps.agentPresence.checkIn(instanceId));
  await authorizeAgent(callerArn, instanceId, deps);
  const told = toldBy(deps);
  const idle = { assignment: null, pollAfterSeconds: deps.timings.pollIntervalSeconds, ...told } as const;
  const inbox = await checkIn;
  const contactAt = deps.clock.now();
  const connected = inbox?.connection !== undefined && !lapsed(inbox.connection.expiresAt, contactAt);
  // Work in hand records the contact in its lease (heartbeats and reports renew it): only idle polls write a presence,
  // and the idle poll after the work records a version first sent with it.
  const working = inbox?.assignment !== undefined;
  if (inbox && contactIsDue(inbox.presence, { version: agentVersion, connected, working }, contactAt, deps.timings.leaseSeconds)) {
    await deps.agentPresence.record(instanceId, { lastSeenAt: contactAt.toISOString(), version: agentVersion });
  }
  let found = heartbeat?.running ? { deploymentId: heartbeat.running } : inbox?.assignment;
  for (let unstartable = 0; found; unstartable++) {
    const answer = await answerFor(callerArn, found.deploymentId, instanceId, deps, told, heartbeat !== undefined);
    if (answer !== 'unstartable') return answer ?? idle;
    if (unstartable + 1 >= MAX_UNSTARTABLE_PER_POLL) return idle;
    found = await deps.instanceDeployments.findAssignment(instanceId);
  }
  return idle;
}

/**
 * The answer for one assignment: undefined when it is no longer this agent's
 * to run, `unstartable` when it was just failed because its hook credentials
 * could not be issued.
 */
async function answerFor(
  callerArn: string,
  deploymentId: string,
  instanceId: string,
  deps: EngineDeps,
  told: { channelUrl?: string; minimumAgentVersion: string },
  heartbeat: boolean,
): Promise<PollAnswer | 'unstartable' | undefined> {
  // A heartbeat also says whether someone follows the log (a polling agent learns it here; a connected one is pushed it too).
  const [instance, deployment, followUntil] = await Promise.all([
    deps.instanceDeployments.get(deploymentId, instanceId),
    deps.deployments.get(deploymentId),
    heartbeat ? deps.liveLogs.followUntil(deploymentId, instanceId) : undefined,
  ]);
  if (!instance || !deployment || instance.status !== 'InProgress') return undefined; // the index lags a finished instance

  const now = deps.clock.now();
  const { revision } = deployment;
  // Presigning is local work: started beside STS, used only if the work can start.
  const urls = heartbeat ? undefined : afterCheck(Promise.all([deps.bundles.bundleDownloadUrl(revision), deps.bundles.logUploadUrl(deploymentId, instanceId)]));
  // Work that cannot start gets no lease: its hook credentials come first. A stopped deployment's hooks never run, so it needs none.
  let credentials: HookCredentials | undefined;
  if (!heartbeat && actionFor(deployment) === 'continue') {
    const issued = await hookCredentials(callerArn, deployment, instanceId, deps);
    if ('refused' in issued) {
      await failUnstartable(instance, issued.refused, now, deps);
      return 'unstartable';
    }
    credentials = issued.credentials;
  }
  if (!instance.acknowledgedAt || leaseIsDue(instance, now, deps)) {
    const leaseExpiresAt = plusSeconds(now, deps.timings.leaseSeconds);
    // Dispatch set the watch time no later than this lease ends: the first acknowledgement moves nothing.
    const watchAt = earlierWatch(instance.watchAt, watchTime(instance, leaseExpiresAt));
    try {
      // The renewed lease is the agent's contact: GET /instances reads it (agentStatus), so no presence is written here.
      await deps.instanceDeployments.update(instance, {
        events: instance.events,
        now: now.toISOString(),
        leaseExpiresAt,
        ...(watchAt ? { watchAt } : {}),
        ...(instance.acknowledgedAt ? {} : { acknowledgedAt: now.toISOString() }),
      });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // A concurrent report renewed it, or the deployment ended and withdrew this never-started work.
      const current = await deps.instanceDeployments.get(deploymentId, instanceId);
      if (current?.status !== 'InProgress') return undefined;
    }
  }
  const heartbeatSeconds = Math.max(5, Math.floor(deps.timings.leaseSeconds / 4));
  if (heartbeat || !urls) {
    const followSeconds = followSecondsLeft(followUntil, now);
    return { action: actionFor(deployment), heartbeatSeconds, assignment: { deploymentId: deployment.deploymentId }, ...(followSeconds > 0 ? { followSeconds } : {}) };
  }
  const [bundleUrl, logUrl] = await urls;
  return {
    action: actionFor(deployment),
    heartbeatSeconds,
    ...told,
    assignment: {
      deploymentId: deployment.deploymentId,
      applicationName: deployment.application,
      deploymentGroupName: deployment.group,
      deploymentGroupId: deployment.groupId,
      revision,
      // Exactly what the revision check saw of the object: the agent verifies its download against it.
      bundle: { url: bundleUrl, bundleType: revision.bundleType, eTag: revision.eTag, size: revision.size, sha256: revision.sha256 },
      logUpload: { url: logUrl },
      events: instance.events.map(({ name, status }) => ({ name, status })),
      fileExistsBehavior: deployment.fileExistsBehavior,
      ignoreApplicationStopFailures: deployment.ignoreApplicationStopFailures,
      leaseSeconds: deps.timings.leaseSeconds,
      ...(credentials ? { hookCredentials: credentials } : {}),
      environment: {
        DEPLOYMENT_ID: deployment.deploymentId,
        APPLICATION_NAME: deployment.application,
        DEPLOYMENT_GROUP_NAME: deployment.group,
        DEPLOYMENT_GROUP_ID: deployment.groupId,
        BUNDLE_BUCKET: revision.bucket,
        BUNDLE_KEY: revision.key,
        // As CodeDeploy sets them: no BUNDLE_VERSION without a version, the ETag without its quotes.
        ...(revision.version ? { BUNDLE_VERSION: revision.version } : {}),
        BUNDLE_ETAG: revision.eTag ? unquoteETag(revision.eTag) : '',
      },
    },
  };
}

/**
 * Fails an instance whose work cannot start, in one conditional write that
 * also withdraws its assignment: the host is free for other groups' work at
 * once. A writer that got there first (a stop, a report) wins.
 */
async function failUnstartable(instance: InstanceDeployment, message: string, now: Date, deps: EngineDeps): Promise<void> {
  try {
    await deps.instanceDeployments.update(instance, { events: failBeforeStart(instance.events, message, now), now: now.toISOString(), transition: 'Failed' });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
}

export type ReportAnswer = z.input<typeof reportAnswerSchema>;

/**
 * Records what an agent reports: the events that finished since its last
 * report and the one starting now, in one conditional write. A repeat is
 * answered without change; a report out of order, or for an instance already
 * ended, is a 409. An instance that ends moves the deployment's counters,
 * which the worker acts on.
 */
export async function report(callerArn: string, input: ReportRequest, deps: EngineDeps): Promise<ReportAnswer> {
  const reading = afterCheck(deps.deployments.get(input.deploymentId));
  let instanceRead = afterCheck(deps.instanceDeployments.get(input.deploymentId, input.instanceId));
  await authorizeAgent(callerArn, input.instanceId, deps);
  const deployment = await reading;
  if (!deployment) throw new NotFoundError(`Deployment ${input.deploymentId} does not exist`);

  const steps = reportSteps(input);
  const changes = steps.map(({ outputTail: _tail, ...step }) => step);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) instanceRead = deps.instanceDeployments.get(input.deploymentId, input.instanceId);
    const instance = await instanceRead;
    if (!instance) throw new NotFoundError(`Instance ${input.instanceId} is not a target of ${input.deploymentId}`);
    const now = deps.clock.now();
    const outcome = applySteps(instance, changes, now, deployment.ignoreApplicationStopFailures);
    if (outcome.kind === 'duplicate') {
      return { action: actionFor(deployment), instanceStatus: instance.status, duplicate: true };
    }
    if (outcome.kind === 'conflict') throw new ConflictError(outcome.reason);

    // Output is kept apart from the instance item (agents send it for a failed event and the last one).
    for (const step of steps) {
      if (step.outputTail) await deps.instanceDeployments.saveOutput(input.deploymentId, input.instanceId, step.event, step.outputTail);
    }
    const finished = outcome.instanceStatus !== 'InProgress';
    const watch = finished ? undefined : watchChanges(instance, outcome.events, now, deps);
    try {
      await deps.instanceDeployments.update(instance, {
        events: outcome.instanceStatus === 'Failed' ? skipRemaining(outcome.events) : outcome.events,
        now: now.toISOString(),
        ...(finished ? { transition: outcome.instanceStatus as 'Succeeded' | 'Failed' | 'Skipped' } : watch),
        ...(instance.acknowledgedAt ? {} : { acknowledgedAt: now.toISOString() }),
      });
    } catch (error) {
      if (error instanceof ConflictError) continue; // another writer got there first: read again and re-apply
      throw error;
    }
    // The next batch, the end and whatever follows it are the worker's: this write is all the report does.
    return { action: actionFor(deployment), instanceStatus: outcome.instanceStatus, duplicate: false };
  }
  throw new ConflictError(`Instance ${input.instanceId} kept changing; report again`);
}
