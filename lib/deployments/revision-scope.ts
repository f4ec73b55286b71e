import { effectiveRevisionSources } from '../domain/application.js';
import { revisionLocationProblem } from '../domain/artifact-location.js';
import { NotFoundError, UnprocessableError } from '../errors.js';
import type { ApplicationsRepository } from '../ports.js';

export interface RevisionScopeDeps {
  applications: Pick<ApplicationsRepository, 'get'>;
  /** The bucket default revision sources point into. */
  artifactBucket: string;
}

/**
 * Refuses a revision outside the application's declared sources, or under a
 * reserved prefix (agent logs): deploy rights on one group never reach another
 * application's artifacts or Fleetline's own objects.
 */
export async function assertRevisionAllowed(application: string, revision: { bucket: string; key: string }, deps: RevisionScopeDeps): Promise<void> {
  const app = await deps.applications.get(application);
  if (!app) throw new NotFoundError(`Application "${application}" does not exist`);
  const problem = revisionLocationProblem(revision, effectiveRevisionSources(app, deps.artifactBucket));
  if (problem) throw new UnprocessableError(`The revision cannot be deployed to application "${application}": ${problem}`, [{ path: '$.revision', message: problem }]);
}
