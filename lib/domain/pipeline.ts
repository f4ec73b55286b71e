import { z } from 'zod';
import { sourcePrefixProblem } from './artifact-location.js';
import { BUILD_VARIABLE_TYPES, type BuildVariable } from './build.js';
import { nameSchema } from './names.js';
import { schema } from './schema.js';

export const EXECUTION_MODES = ['SUPERSEDED', 'QUEUED'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

/**
 * Size bounds: an execution copies its pipeline's stages and keeps one state per
 * action in a single item, which must stay under DynamoDB's 400 KB whatever
 * happens to it (see execution-size.ts).
 */
export const MAX_STAGES = 20;
export const MAX_ACTIONS_PER_STAGE = 20;
export const MAX_ACTIONS = 50;

/**
 * Build actions' own bounds: their buildspecs and variables are copied into
 * every execution, so the whole pipeline's are capped together (and each).
 */
export const MAX_BUILD_VARIABLES = 50;
export const MAX_BUILDSPEC_CHARS = 16_384;
export const MAX_BUILD_TEXT_CHARS = 65_536;
/** CodeBuild's project names. */
export const BUILD_PROJECT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/;

const deployAction = /* @__PURE__ */ schema(() => z.strictObject({
  type: z.literal('deploy'),
  name: nameSchema.optional(),
  application: nameSchema,
  group: nameSchema,
  /** The build action whose output it deploys; by default the latest build of an earlier stage, else the source. */
  input: nameSchema.optional(),
}));
const buildVariable = /* @__PURE__ */ schema(() => z.strictObject({
  name: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'must be an environment variable name: a letter or _ then letters, digits or _')
    .refine((name) => !name.startsWith('CODEBUILD_'), 'must not start with CODEBUILD_ (CodeBuild reserves those names)'),
  value: z.string({ error: 'must be a string' }).max(4096, 'must be at most 4096 characters'),
  type: z.enum(BUILD_VARIABLE_TYPES, { error: `must be ${BUILD_VARIABLE_TYPES.join(', ')}` }).optional(),
}));
const buildAction = /* @__PURE__ */ schema(() => z.strictObject({
  type: z.literal('build'),
  name: nameSchema.optional(),
  project: z.string({ error: 'is required: the CodeBuild project the build runs in' }).regex(BUILD_PROJECT_PATTERN, 'must be a CodeBuild project name: 2-255 characters from A-Z a-z 0-9 _ -, starting with a letter or digit'),
  environmentVariables: z
    .array(buildVariable, { error: 'must be a list of { name, value, type? }' })
    .max(MAX_BUILD_VARIABLES, `holds at most ${MAX_BUILD_VARIABLES} variables`)
    .optional(),
  buildspec: z.string({ error: 'must be the buildspec as a YAML string' }).min(1, 'must not be empty').max(MAX_BUILDSPEC_CHARS, `must be at most ${MAX_BUILDSPEC_CHARS} characters`).optional(),
}));
const approvalAction = /* @__PURE__ */ schema(() => z.strictObject({
  type: z.literal('approval'),
  name: nameSchema.optional(),
  timeoutMinutes: z.number({ error: 'must be a number of minutes' }).int('must be whole minutes').min(1).max(7 * 24 * 60, 'must be at most 10080 (7 days)').default(1440),
}));

export const pipelineBodySchema = /* @__PURE__ */ schema(() => z
  .strictObject({
    source: z.strictObject({
      bucket: z.string({ error: 'is required' }).regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
      prefix: z
        .string({ error: 'is required: the key prefix your builds upload to, e.g. "web/"' })
        .max(1024, 'must be at most 1024 characters')
        .superRefine((prefix, ctx) => {
          const problem = sourcePrefixProblem(prefix);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      suffix: z.string().max(1024, 'must be at most 1024 characters').default(''),
    }),
    executionMode: z.enum(EXECUTION_MODES, { error: 'must be SUPERSEDED or QUEUED' }).default('SUPERSEDED'),
    stages: z
      .array(
        z.strictObject({
          name: nameSchema,
          actions: z
            .array(z.discriminatedUnion('type', [deployAction, approvalAction, buildAction], { error: 'type must be deploy, approval or build' }))
            .min(1, 'a stage needs at least one action')
            .max(MAX_ACTIONS_PER_STAGE, `a stage holds at most ${MAX_ACTIONS_PER_STAGE} actions`),
        }),
        { error: 'must be a list of stages' },
      )
      .min(1, 'a pipeline needs at least one stage')
      .max(MAX_STAGES, `a pipeline holds at most ${MAX_STAGES} stages`),
  })
  .superRefine((p, ctx) => {
    const actions = p.stages.reduce((n, stage) => n + stage.actions.length, 0);
    if (actions > MAX_ACTIONS) {
      ctx.addIssue({ code: 'custom', path: ['stages'], message: `a pipeline holds at most ${MAX_ACTIONS} actions in all (this one has ${actions})` });
    }
    const buildText = p.stages.flatMap((stage) => stage.actions).reduce(
      (n, action) => n + (action.type === 'build' ? (action.buildspec?.length ?? 0) + (action.environmentVariables ?? []).reduce((m, v) => m + v.name.length + v.value.length, 0) : 0),
      0,
    );
    if (buildText > MAX_BUILD_TEXT_CHARS) {
      ctx.addIssue({ code: 'custom', path: ['stages'], message: `build actions' buildspecs and variables hold at most ${MAX_BUILD_TEXT_CHARS} characters in all (these hold ${buildText}); keep long buildspecs in the source's buildspec.yml` });
    }
    const stageNames = new Set<string>();
    /** Build outputs of the stages before the one being read, by action name. */
    const earlierBuilds = new Set<string>();
    p.stages.forEach((stage, s) => {
      if (stageNames.has(stage.name)) ctx.addIssue({ code: 'custom', path: ['stages', s, 'name'], message: `repeats the stage name "${stage.name}"` });
      stageNames.add(stage.name);
      const actionNames = new Set<string>();
      const builds: string[] = [];
      stage.actions.forEach((action, a) => {
        const name = action.name ?? `${action.type}-${a + 1}`;
        if (actionNames.has(name)) ctx.addIssue({ code: 'custom', path: ['stages', s, 'actions', a, 'name'], message: `repeats the action name "${name}"` });
        actionNames.add(name);
        if (action.type === 'build') {
          // An output is named by its action: two builds of one name would make `input` ambiguous.
          if (earlierBuilds.has(name)) ctx.addIssue({ code: 'custom', path: ['stages', s, 'actions', a, 'name'], message: `repeats the build action name "${name}" of an earlier stage: a build's output is named by its action` });
          builds.push(name);
        }
        if (action.type === 'deploy' && action.input !== undefined && !earlierBuilds.has(action.input)) {
          ctx.addIssue({
            code: 'custom',
            path: ['stages', s, 'actions', a, 'input'],
            message: earlierBuilds.size > 0
              ? `names no build action of an earlier stage (these are: ${[...earlierBuilds].join(', ')})`
              : 'names no build action of an earlier stage (there is none): a deploy action takes the output of a build in a stage before its own',
          });
        }
      });
      for (const name of builds) earlierBuilds.add(name);
    });
  }));

export type PipelineBody = z.output<typeof pipelineBodySchema>;
export type ActionDefinition =
  | { type: 'deploy'; name: string; application: string; group: string; input?: string | undefined }
  | { type: 'approval'; name: string; timeoutMinutes: number }
  | { type: 'build'; name: string; project: string; environmentVariables?: BuildVariable[] | undefined; buildspec?: string | undefined };
export type ActionType = ActionDefinition['type'];

export interface Pipeline {
  name: string;
  source: { bucket: string; prefix: string; suffix: string };
  executionMode: ExecutionMode;
  stages: { name: string; actions: ActionDefinition[] }[];
  /** Who saved it: executions deploy with this principal's authority (absent on pipelines saved before authors were recorded). */
  author?: string | undefined;
  createdAt: string;
  updatedAt: string;
}

/** Names every action (deploy-1, approval-2, … when not named). */
export function normalizePipeline(body: PipelineBody): Pick<Pipeline, 'source' | 'executionMode' | 'stages'> {
  return {
    source: body.source,
    executionMode: body.executionMode,
    stages: body.stages.map((stage) => ({
      name: stage.name,
      actions: stage.actions.map((a, i) => ({ ...a, name: a.name ?? `${a.type}-${i + 1}` }) as ActionDefinition),
    })),
  };
}

export function matchesSource(pipeline: Pick<Pipeline, 'source'>, bucket: string, key: string): boolean {
  const { source } = pipeline;
  return source.bucket === bucket && key.startsWith(source.prefix) && key.endsWith(source.suffix);
}

export const EXECUTION_STATUSES = ['InProgress', 'Succeeded', 'Failed', 'Stopped', 'Superseded'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const STAGE_STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'Stopped'] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];
/** An action moves through the same statuses as its stage. */
export type ActionStatus = StageStatus;

/** A build's output artifact: a zip in the artifact bucket, under the reserved build prefix. */
export interface BuildOutput {
  bucket: string;
  key: string;
  version?: string | undefined;
  eTag?: string | undefined;
}

export interface ActionState {
  name: string;
  type: ActionType;
  status: ActionStatus;
  startedAt?: string | undefined;
  endedAt?: string | undefined;
  deploymentId?: string | undefined;
  /** Approval actions: when they time out, and who decided. */
  deadline?: string | undefined;
  decision?: { by: string; approved: boolean; comment: string; at: string } | undefined;
  error?: string | undefined;
  /** Deploy actions: the group was busy; the action waits for it. */
  waitingForGroup?: boolean | undefined;
  /** How often the action was retried (keeps each try's deployment distinct). */
  attempt?: number | undefined;
  /** Build actions: the build started for this attempt, its output (named by the action) and its full log. */
  buildId?: string | undefined;
  output?: BuildOutput | undefined;
  logLink?: string | undefined;
  /** Deploy actions: which output they deploy (a build action's name), absent for the source. */
  input?: string | undefined;
}

export interface StageState {
  name: string;
  status: StageStatus;
  startedAt?: string | undefined;
  endedAt?: string | undefined;
  actions: ActionState[];
}

export interface ExecutionRevision {
  bucket: string;
  key: string;
  version?: string | undefined;
  eTag?: string | undefined;
  size?: number | undefined;
  sequencer?: string | undefined;
  uploader?: string | undefined;
}

export interface Execution {
  executionId: string;
  pipeline: string;
  /** The pipeline's stages as they were when the execution started. */
  definition: Pipeline['stages'];
  revision: ExecutionRevision;
  trigger: { type: 'S3' | 'Manual'; by: string };
  /** Whose authority its deploy actions run under: the pipeline's author when it started. */
  authority?: string | undefined;
  status: ExecutionStatus;
  /** The stage the execution is in or waiting to enter. */
  stageIndex: number;
  /** Waiting for the stage's slot (another execution is in it). */
  waiting: boolean;
  stages: StageState[];
  createdAt: string;
  updatedAt: string;
  endedAt?: string | undefined;
  error?: string | undefined;
  /** Who stopped it (a stopped execution). */
  stoppedBy?: string | undefined;
  /** The bundle's appspec.yml, checked before any instance is touched. */
  preflight?: { ok: boolean; problems: { path: string; message: string }[] } | undefined;
  version: number;
}

export function initialStages(pipeline: Pick<Pipeline, 'stages'>): StageState[] {
  return pipeline.stages.map((stage) => ({
    name: stage.name,
    status: 'Pending',
    actions: stage.actions.map((a) => ({ name: a.name, type: a.type, status: 'Pending' })),
  }));
}
