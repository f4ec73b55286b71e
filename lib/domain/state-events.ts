import { createHash } from 'node:crypto';
import type { Deployment, InstanceDeployment } from './deployment.js';
import type { ActionState, Execution, StageState } from './pipeline.js';

/**
 * State changes as the events CodeDeploy and CodePipeline send to EventBridge: the same
 * envelope, detail-type and detail fields, so a rule written for AWS's own events reads
 * Fleetline's (README, Events). Pure: old and new state in, zero or more events out.
 */
export const EVENT_TYPES = {
  deployment: 'CodeDeploy Deployment State-change Notification',
  instance: 'CodeDeploy Instance State-change Notification',
  execution: 'CodePipeline Pipeline Execution State Change',
  stage: 'CodePipeline Stage Execution State Change',
  action: 'CodePipeline Action Execution State Change',
} as const;
export type EventKind = keyof typeof EVENT_TYPES;
export type DetailType = (typeof EVENT_TYPES)[EventKind];
export const DETAIL_TYPES = Object.values(EVENT_TYPES) as DetailType[];

export const EVENT_SOURCES = { codedeploy: 'aws.codedeploy', codepipeline: 'aws.codepipeline' } as const;

export interface FleetEvent {
  version: '0';
  id: string;
  'detail-type': DetailType;
  source: (typeof EVENT_SOURCES)[keyof typeof EVENT_SOURCES];
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: CodeDeployDetail | CodePipelineDetail;
}

/** CodeDeploy's detail fields: a deployment's state change, or (with instanceId) an instance's. */
export interface CodeDeployDetail {
  instanceGroupId: string;
  region: string;
  application: string;
  deploymentId: string;
  state: string;
  deploymentGroup: string;
  instanceId?: string;
}

/** CodePipeline's detail fields: an execution's state change, a stage's (with stage) or an action's (with stage, action, region and type). */
export interface CodePipelineDetail {
  pipeline: string;
  version: number;
  'execution-id': string;
  state: string;
  stage?: string;
  action?: string;
  region?: string;
  type?: { owner: string; category: string; provider: string; version: string };
}

/** Where and when a change happened: the account and region of the table, the time DynamoDB recorded the write. */
export interface EventOrigin {
  partition: string;
  account: string;
  region: string;
  /** ISO 8601 to the second, as AWS's events give it. */
  time: string;
}

/** The deployment an instance belongs to, which its events name. */
export type DeploymentOf = Pick<Deployment, 'deploymentId' | 'application' | 'group' | 'groupId'>;

/** A UUID-shaped ID fixed by what changed: the same change, seen again after a crash, is the same event. */
export function eventId(change: string): string {
  const hex = createHash('sha256').update(change).digest('hex');
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** AWS's event times have no fraction of a second. */
export function eventTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const DEPLOYMENT_STATES: Partial<Record<Deployment['status'], string>> = {
  InProgress: 'START',
  Succeeded: 'SUCCESS',
  Failed: 'FAILURE',
  Stopped: 'STOP',
};

/**
 * An instance that lost its agent (Unknown) is a failed instance to CodeDeploy's events;
 * one skipped never ran, and CodeDeploy sends nothing for it.
 */
const INSTANCE_STATES: Partial<Record<InstanceDeployment['status'], string>> = {
  InProgress: 'START',
  Succeeded: 'SUCCESS',
  Failed: 'FAILURE',
  Unknown: 'FAILURE',
};

function codedeployArns(origin: EventOrigin, application: string, group: string) {
  const prefix = `arn:${origin.partition}:codedeploy:${origin.region}:${origin.account}`;
  return { application: `${prefix}:application:${application}`, group: `${prefix}:deploymentgroup:${application}/${group}` };
}

function envelope(origin: EventOrigin, change: string, kind: EventKind, resources: string[], detail: FleetEvent['detail']): FleetEvent {
  return {
    version: '0',
    id: eventId(change),
    'detail-type': EVENT_TYPES[kind],
    source: kind === 'deployment' || kind === 'instance' ? EVENT_SOURCES.codedeploy : EVENT_SOURCES.codepipeline,
    account: origin.account,
    time: origin.time,
    region: origin.region,
    resources,
    detail,
  };
}

/** A deployment's state change: START when its instances are known, then SUCCESS, FAILURE or STOP. */
export function deploymentEvents(origin: EventOrigin, before: Deployment | undefined, after: Deployment): FleetEvent[] {
  if (before?.status === after.status) return [];
  const state = DEPLOYMENT_STATES[after.status];
  if (!state) return [];
  const arns = codedeployArns(origin, after.application, after.group);
  return [
    envelope(origin, `deployment/${after.deploymentId}/${state}`, 'deployment', [arns.application, arns.group], {
      instanceGroupId: after.groupId,
      region: origin.region,
      application: after.application,
      deploymentId: after.deploymentId,
      state,
      deploymentGroup: after.group,
    }),
  ];
}

/** The state an instance's change is sent as, if it is one CodeDeploy sends (the worker reads the deployment only then). */
export function instanceEventState(before: Pick<InstanceDeployment, 'status'> | undefined, after: Pick<InstanceDeployment, 'status'>): string | undefined {
  return before?.status === after.status ? undefined : INSTANCE_STATES[after.status];
}

/** An instance's state change within a deployment: START when dispatched, then SUCCESS or FAILURE. */
export function instanceEvents(
  origin: EventOrigin,
  deployment: DeploymentOf,
  before: InstanceDeployment | undefined,
  after: InstanceDeployment,
): FleetEvent[] {
  const state = instanceEventState(before, after);
  if (!state) return [];
  const arns = codedeployArns(origin, deployment.application, deployment.group);
  const instanceArn =
    after.source === 'ec2'
      ? `arn:${origin.partition}:ec2:${origin.region}:${origin.account}:instance/${after.instanceId}`
      : `arn:${origin.partition}:codedeploy:${origin.region}:${origin.account}:instance/${after.instanceId}`;
  return [
    envelope(origin, `instance/${after.deploymentId}/${after.instanceId}/${state}`, 'instance', [instanceArn, arns.group, arns.application], {
      instanceId: after.instanceId,
      region: origin.region,
      state,
      application: deployment.application,
      deploymentId: after.deploymentId,
      instanceGroupId: deployment.groupId,
      deploymentGroup: deployment.group,
    }),
  ];
}

const EXECUTION_STATES: Record<Execution['status'], string> = {
  InProgress: 'STARTED',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Stopped: 'STOPPED',
  Superseded: 'SUPERSEDED',
};
const STAGE_STATES: Partial<Record<StageState['status'], string>> = {
  InProgress: 'STARTED',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Stopped: 'STOPPED',
};
/** An action a stop left unfinished is abandoned, as CodePipeline's "stop and abandon" calls it. */
const ACTION_STATES: Partial<Record<ActionState['status'], string>> = {
  InProgress: 'STARTED',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Stopped: 'ABANDONED',
};
/** What CodePipeline's events call the action types Fleetline runs. */
const ACTION_TYPES: Record<ActionState['type'], { owner: string; category: string; provider: string; version: string }> = {
  deploy: { owner: 'AWS', category: 'Deploy', provider: 'CodeDeploy', version: '1' },
  approval: { owner: 'AWS', category: 'Approval', provider: 'Manual', version: '1' },
  build: { owner: 'AWS', category: 'Build', provider: 'CodeBuild', version: '1' },
};

/** A failed execution or stage that runs again (a retry) is RESUMED, not STARTED. */
const resumedOr = (before: string | undefined, state: string) => (before === 'Failed' && state === 'STARTED' ? 'RESUMED' : state);
const begins = (state: string) => state === 'STARTED' || state === 'RESUMED';

/**
 * An execution's state changes in one write, in the order CodePipeline sends them:
 * what begins from the outside in (pipeline, stage, action), what ends from the inside
 * out (action, stage, pipeline). Fleetline does not version pipeline structures: the
 * detail's `version` is always 1.
 */
export function executionEvents(origin: EventOrigin, before: Execution | undefined, after: Execution): FleetEvent[] {
  const resources = [`arn:${origin.partition}:codepipeline:${origin.region}:${origin.account}:${after.pipeline}`];
  const base = { pipeline: after.pipeline, version: 1, 'execution-id': after.executionId };
  // A change is seen in exactly one write, whose version names it; a retry changes the same things again under a later one.
  const change = (what: string) => `execution/${after.executionId}/${after.version}/${what}`;
  const pipelineEvents: FleetEvent[] = [];
  if (before?.status !== after.status) {
    const state = resumedOr(before?.status, EXECUTION_STATES[after.status]);
    pipelineEvents.push(envelope(origin, change(`pipeline/${state}`), 'execution', resources, { ...base, state }));
  }
  const stageEvents = after.stages.flatMap((stage, s) => {
    const old = before?.stages[s];
    const actionEvents = stage.actions.flatMap((action, a) => {
      const oldAction = old?.actions[a];
      if (oldAction?.status === action.status) return [];
      const state = ACTION_STATES[action.status];
      if (!state) return [];
      return [
        envelope(origin, change(`stage/${s}/action/${a}/${state}`), 'action', resources, {
          ...base,
          stage: stage.name,
          action: action.name,
          state,
          region: origin.region,
          type: ACTION_TYPES[action.type],
        }),
      ];
    });
    const stageState = old?.status === stage.status ? undefined : STAGE_STATES[stage.status];
    if (!stageState) return actionEvents;
    const state = resumedOr(old?.status, stageState);
    const stageEvent = envelope(origin, change(`stage/${s}/${state}`), 'stage', resources, { ...base, stage: stage.name, state });
    return begins(state) ? [stageEvent, ...actionEvents] : [...actionEvents, stageEvent];
  });
  const starts = pipelineEvents.some((e) => begins(String(e.detail.state)));
  return starts ? [...pipelineEvents, ...stageEvents] : [...stageEvents, ...pipelineEvents];
}

/** The event's application and group (CodeDeploy's), or pipeline (CodePipeline's): what decides who may see it. */
export function eventSubject(event: FleetEvent): { application: string; group: string } | { pipeline: string } {
  const detail = event.detail;
  return 'pipeline' in detail ? { pipeline: detail.pipeline } : { application: detail.application, group: detail.deploymentGroup };
}

/**
 * The source an event is published to EventBridge with: EventBridge keeps sources that
 * begin with `aws.` for AWS's own services and refuses them in PutEvents, so a rule for
 * Fleetline's events names `fleetline.codedeploy` or `fleetline.codepipeline`; the
 * detail-type and detail are AWS's. The feed (GET /events) shows AWS's own source.
 */
export function publishedSource(source: FleetEvent['source']): string {
  return source.replace(/^aws\./, 'fleetline.');
}
