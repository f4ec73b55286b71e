import { effectiveRevisionSources } from '../domain/application.js';
import { defaultRevisionSources } from '../domain/artifact-location.js';
import { notFound } from '../domain/not-found.js';
import { route } from './deps.js';
import { operations } from './operations.js';

export const applicationRoutes = [
  route(operations.putApplication, {
    access: { action: 'applications:put', resource: ({ params }) => `application/${params.app}` },
    async handle({ params, body, deps }) {
      const revisionSources = body.revisionSources ?? defaultRevisionSources(params.app, deps.artifactBucket);
      const { created, value } = await deps.applications.put(
        params.app,
        { description: body.description, revisionSources },
        deps.clock.now().toISOString(),
      );
      return { statusCode: created ? 201 : 200, body: value };
    },
  }),
  route(operations.listApplications, {
    access: { action: 'applications:list', list: true },
    async handle({ query, deps, visible }) {
      return { statusCode: 200, body: await deps.applications.list({ ...query, visible: (a) => visible(`application/${a.name}`) }) };
    },
  }),
  route(operations.getApplication, {
    access: { action: 'applications:get', resource: ({ params }) => `application/${params.app}`, missing: ({ params }) => notFound.application(params.app) },
    async handle({ params, deps }) {
      const application = await deps.applications.get(params.app);
      if (!application) throw notFound.application(params.app);
      return { statusCode: 200, body: { ...application, revisionSources: effectiveRevisionSources(application, deps.artifactBucket) } };
    },
  }),
  route(operations.deleteApplication, {
    access: { action: 'applications:delete', resource: ({ params }) => `application/${params.app}`, missing: ({ params }) => notFound.application(params.app) },
    async handle({ params, deps }) {
      await deps.applications.delete(params.app);
      return { statusCode: 204 };
    },
  }),
];
