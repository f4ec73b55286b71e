import { z } from 'zod';
import { BUILD_PREFIX } from './artifact-location.js';
import { schema } from './schema.js';

/** CodeBuild's build statuses. */
export const BUILD_STATUSES = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];
export const BUILD_VARIABLE_TYPES = ['PLAINTEXT', 'PARAMETER_STORE', 'SECRETS_MANAGER'] as const;

export interface BuildVariable {
  name: string;
  value: string;
  type?: (typeof BUILD_VARIABLE_TYPES)[number] | undefined;
}

/** What a build has come to, from CodeBuild (BatchGetBuilds, a state-change event) or the local runner. */
export interface BuildSeen {
  buildId: string;
  status: BuildStatus;
  /** The first phase that did not succeed, and what it said. */
  failedPhase?: string | undefined;
  failedPhaseMessage?: string | undefined;
  /** The build's full log (CloudWatch's deep link in AWS; the log object locally). */
  logLink?: string | undefined;
  exportedVariables?: Record<string, string> | undefined;
}

/**
 * Where a build action's output goes, below the reserved prefix: one folder
 * per pipeline, execution, action and attempt, so no build overwrites
 * another's output and nothing outside Fleetline can name it as a revision.
 */
export function buildOutputPath(pipeline: string, executionId: string, action: string, attempt: number): string {
  return `${BUILD_PREFIX}${pipeline}/${executionId}/${action}/${attempt}`;
}

/** StartBuild's idempotency token: the same action's same attempt never starts two builds. */
export function buildIdempotencyToken(executionId: string, stage: number, action: number, attempt: number): string {
  return `fleetline-${executionId}-${stage}-${action}-${attempt}`;
}

/**
 * A finished build's outcome for its action: SUCCEEDED succeeds; FAILED,
 * FAULT, TIMED_OUT and STOPPED fail naming the build, its status, the phase
 * that failed (and what it said) and where the full log is.
 */
export function buildOutcome(seen: BuildSeen): { succeeded: true } | { succeeded: false; error: string } {
  if (seen.status === 'SUCCEEDED') return { succeeded: true };
  const phase = seen.failedPhase ? ` in ${seen.failedPhase}${seen.failedPhaseMessage ? `: ${seen.failedPhaseMessage}` : ''}` : '';
  const log = seen.logLink ? ` (log: ${seen.logLink})` : '';
  return { succeeded: false, error: `Build ${seen.buildId} ${seen.status}${phase}${log}` };
}

const phaseSchema = z.looseObject({
  'phase-type': z.string(),
  'phase-status': z.string().optional(),
  'phase-context': z.array(z.string()).optional(),
});

/** The detail of EventBridge's "CodeBuild Build State Change" event, the fields Fleetline reads. */
export const buildStateChangeSchema = /* @__PURE__ */ schema(() => z.looseObject({
  'build-status': z.enum(BUILD_STATUSES),
  'project-name': z.string(),
  'build-id': z.string().regex(/^arn:[\w-]+:codebuild:[\w-]+:\d{12}:build\/.+$/, 'must be a CodeBuild build ARN'),
  'additional-information': z
    .looseObject({
      phases: z.array(phaseSchema).optional(),
      logs: z.looseObject({ 'deep-link': z.string().optional() }).optional(),
      environment: z
        .looseObject({ 'environment-variables': z.array(z.looseObject({ name: z.string(), value: z.string().optional() })).optional() })
        .optional(),
      'exported-environment-variables': z.array(z.looseObject({ name: z.string(), value: z.string().optional() })).optional(),
    })
    .optional(),
}));

const PASSED = new Set(['SUCCEEDED', 'IN_PROGRESS', 'QUEUED']);

/** The build the event is about, or undefined for an event that is not one (it is logged and dropped). */
export function buildSeenFromEvent(detail: unknown): (BuildSeen & { project: string; variables: Record<string, string> }) | undefined {
  const parsed = buildStateChangeSchema.safeParse(detail);
  if (!parsed.success) return undefined;
  const d = parsed.data;
  const info = d['additional-information'];
  const failed = info?.phases?.find((p) => p['phase-status'] !== undefined && !PASSED.has(p['phase-status']));
  const variables: Record<string, string> = {};
  for (const v of info?.environment?.['environment-variables'] ?? []) if (v.value !== undefined) variables[v.name] = v.value;
  const exported = info?.['exported-environment-variables'];
  return {
    buildId: d['build-id'].slice(d['build-id'].indexOf(':build/') + ':build/'.length),
    project: d['project-name'],
    status: d['build-status'],
    failedPhase: failed?.['phase-type'],
    failedPhaseMessage: failed?.['phase-context']?.filter((c) => c && c !== ': ').join('; ') || undefined,
    logLink: info?.logs?.['deep-link'],
    exportedVariables: exported ? Object.fromEntries(exported.map((v) => [v.name, v.value ?? ''])) : undefined,
    variables,
  };
}

/**
 * The detail of a "CodeBuild Build State Change" event for a build, in
 * CodeBuild's shape (what buildSeenFromEvent reads back): the local runner
 * sends it for its builds, as CodeBuild sends it through EventBridge.
 */
export function buildStateChangeDetail(
  seen: BuildSeen,
  build: { project: string; arn: string; variables: readonly BuildVariable[] },
): Record<string, unknown> {
  const phases = seen.failedPhase ? [{ 'phase-type': seen.failedPhase, 'phase-status': 'FAILED', 'phase-context': [seen.failedPhaseMessage ?? ''] }] : [];
  return {
    'build-status': seen.status,
    'project-name': build.project,
    'build-id': build.arn,
    'additional-information': {
      phases,
      ...(seen.logLink ? { logs: { 'deep-link': seen.logLink } } : {}),
      environment: { 'environment-variables': build.variables.map((v) => ({ name: v.name, value: v.value, type: v.type ?? 'PLAINTEXT' })) },
      ...(seen.exportedVariables ? { 'exported-environment-variables': Object.entries(seen.exportedVariables).map(([name, value]) => ({ name, value })) } : {}),
    },
  };
}
