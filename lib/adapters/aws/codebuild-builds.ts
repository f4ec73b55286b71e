import {
  BatchGetBuildsCommand,
  type Build,
  type CodeBuildClient,
  StartBuildCommand,
  StopBuildCommand,
} from '@aws-sdk/client-codebuild';
import { type BuildSeen, type BuildStatus, BUILD_STATUSES } from '../../domain/build.js';
import { DependencyError, type FleetlineError, ThrottledError, UnprocessableError, ValidationError } from '../../errors.js';
import type { BuildService, BuildStart } from '../../ports.js';
import { credentialsProblem } from './credential-errors.js';

const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'AccountLimitExceededException']);
const PASSED = new Set(['SUCCEEDED', 'IN_PROGRESS', 'QUEUED']);

/** CodeBuild behind the BuildService port: StartBuild, BatchGetBuilds, StopBuild. */
export class CodeBuildService implements BuildService {
  constructor(private readonly codebuild: CodeBuildClient) {}

  async start(request: BuildStart): Promise<{ buildId: string }> {
    const { source, output } = request;
    try {
      const answer = await this.codebuild.send(new StartBuildCommand({
        projectName: request.project,
        sourceTypeOverride: 'S3',
        sourceLocationOverride: `${source.bucket}/${source.key}`,
        sourceVersion: source.version,
        artifactsOverride: {
          type: 'S3',
          location: output.bucket,
          path: output.path,
          name: output.name,
          namespaceType: 'NONE',
          packaging: 'ZIP',
          overrideArtifactName: false,
        },
        environmentVariablesOverride: request.environmentVariables.map((v) => ({ name: v.name, value: v.value, type: v.type ?? 'PLAINTEXT' })),
        buildspecOverride: request.buildspec,
        idempotencyToken: request.idempotencyToken,
      }));
      const buildId = answer.build?.id;
      if (!buildId) throw new DependencyError(`CodeBuild StartBuild on project ${request.project} answered without a build ID; retry later`);
      return { buildId };
    } catch (error) {
      throw codeBuildError(error, 'StartBuild', request.project);
    }
  }

  async get(buildId: string): Promise<BuildSeen | undefined> {
    try {
      const answer = await this.codebuild.send(new BatchGetBuildsCommand({ ids: [buildId] }));
      const build = answer.builds?.find((b) => b.id === buildId);
      return build ? buildSeen(build) : undefined;
    } catch (error) {
      throw codeBuildError(error, 'BatchGetBuilds', projectOf(buildId));
    }
  }

  async stop(buildId: string): Promise<void> {
    try {
      await this.codebuild.send(new StopBuildCommand({ id: buildId }));
    } catch (error) {
      // Stopping a build that has ended already: nothing to do.
      if ((error as Error).name === 'InvalidInputException' && /not in progress|already|completed/i.test((error as Error).message)) return;
      throw codeBuildError(error, 'StopBuild', projectOf(buildId));
    }
  }
}

const projectOf = (buildId: string) => buildId.slice(0, buildId.lastIndexOf(':')) || buildId;

/** What BatchGetBuilds says of a build, in the port's terms. */
export function buildSeen(build: Build): BuildSeen {
  const status = (BUILD_STATUSES as readonly string[]).includes(build.buildStatus ?? '') ? (build.buildStatus as BuildStatus) : 'FAULT';
  const failed = build.phases?.find((p) => p.phaseStatus !== undefined && !PASSED.has(p.phaseStatus));
  const message = failed?.contexts?.map((c) => [c.statusCode, c.message].filter(Boolean).join(': ')).filter(Boolean).join('; ');
  const exported = build.exportedEnvironmentVariables;
  return {
    buildId: build.id as string,
    status,
    failedPhase: failed?.phaseType,
    failedPhaseMessage: message || undefined,
    logLink: build.logs?.deepLink,
    exportedVariables: exported ? Object.fromEntries(exported.map((v) => [v.name ?? '', v.value ?? ''])) : undefined,
  };
}

/** CodeBuild's answer, named: the project, the call, and what to change. */
function codeBuildError(error: unknown, call: string, project: string): FleetlineError {
  if (error instanceof DependencyError) return error;
  const unconfigured = credentialsProblem(error, 'CodeBuild');
  if (unconfigured) return unconfigured;
  const name = (error as Error)?.name ?? 'Error';
  const message = String((error as Error)?.message ?? '').slice(0, 300);
  if (name === 'ResourceNotFoundException') {
    return new UnprocessableError(`CodeBuild ${call}: project ${project} does not exist in Fleetline's region (${name}: ${message})`);
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return new UnprocessableError(
      `CodeBuild refused ${call} on project ${project} (${name}): Fleetline's worker role may start, read and stop only the projects the buildProjects parameter names`,
    );
  }
  if (name === 'InvalidInputException') return new ValidationError(`CodeBuild refused ${call} on project ${project}: ${message}`);
  if (name === 'OAuthProviderException') return new UnprocessableError(`CodeBuild ${call} on project ${project}: ${message}`);
  if (THROTTLED.has(name)) return new ThrottledError(`CodeBuild is throttling ${call} (${name}); retried later`);
  return new DependencyError(`CodeBuild ${call} on project ${project} failed (${name}); retried later`);
}
