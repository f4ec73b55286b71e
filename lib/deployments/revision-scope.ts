import { effectiveRevisionSources } from '../domain/application.js';
import { BUILD_PREFIX, keySegmentProblem, revisionLocationProblem } from '../domain/artifact-location.js';
import { NotFoundError, UnprocessableError } from '../errors.js';
import type { ApplicationsRepository } from '../ports.js';

export interface RevisionScopeDeps {
  applications: Pick<ApplicationsRepository, 'get'>;
  /** The bucket default revision sources point into. */
  artifactBucket: string;
}

/**
 * The one way past the reserved build prefix, and only the engine can take it:
 * a pipeline execution's deploy action deploying that execution's own build
 * output (never a request's, never another execution's), or a rollback to the
 * group's last successful revision, which was deployed by such an action.
 */
export type RevisionScopeException = { kind: 'buildOutput'; pipeline: string; executionId: string } | { kind: 'lastSuccess' };

/** Whether the exception covers this revision: a build output of that execution in the artifact bucket. */
function excepted(revision: { bucket: string; key: string }, exception: RevisionScopeException | undefined, artifactBucket: string): boolean {
  if (!exception || revision.bucket !== artifactBucket || !revision.key.startsWith(BUILD_PREFIX) || keySegmentProblem(revision.key)) return false;
  if (exception.kind === 'lastSuccess') return true;
  return revision.key.startsWith(`${BUILD_PREFIX}${exception.pipeline}/${exception.executionId}/`);
}

/**
 * Refuses a revision outside the application's declared sources, or under a
 * reserved prefix (agent logs, build outputs): deploy rights on one group never
 * reach another application's artifacts or Fleetline's own objects. A build's
 * output is deployable by its own execution's deploy actions alone (`exception`).
 */
export async function assertRevisionAllowed(
  application: string,
  revision: { bucket: string; key: string },
  deps: RevisionScopeDeps,
  exception?: RevisionScopeException,
): Promise<void> {
  const app = await deps.applications.get(application);
  if (!app) throw new NotFoundError(`Application "${application}" does not exist`);
  if (excepted(revision, exception, deps.artifactBucket)) return;
  const problem = revisionLocationProblem(revision, effectiveRevisionSources(app, deps.artifactBucket));
  if (problem) throw new UnprocessableError(`The revision cannot be deployed to application "${application}": ${problem}`, [{ path: '$.revision', message: problem }]);
}
