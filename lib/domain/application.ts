import { z } from 'zod';
import { type RevisionSource, defaultRevisionSources, revisionSourcesSchema } from './artifact-location.js';
import { schema } from './schema.js';

export interface Application {
  name: string;
  description: string;
  /** Where this application's revisions may come from; deployments of anything else are refused. */
  revisionSources?: RevisionSource[] | undefined;
  createdAt: string;
  updatedAt: string;
}

export const applicationBodySchema = /* @__PURE__ */ schema(() => z
  .strictObject({
    description: z.string({ error: 'must be a string' }).max(1024, 'must be at most 1024 characters').default(''),
    /** Omitted: the artifact bucket's `<app>/` prefix (see defaultRevisionSources). */
    revisionSources: revisionSourcesSchema.optional(),
  })
  .default({ description: '' }));

/** Applications written before sources existed take the default. */
export function effectiveRevisionSources(app: Pick<Application, 'name' | 'revisionSources'>, artifactBucket: string): RevisionSource[] {
  return app.revisionSources && app.revisionSources.length > 0 ? app.revisionSources : defaultRevisionSources(app.name, artifactBucket);
}
