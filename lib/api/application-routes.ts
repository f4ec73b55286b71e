import { applicationBodySchema, effectiveRevisionSources } from '../domain/application.js';
import { defaultRevisionSources } from '../domain/artifact-location.js';
import { notFound } from '../domain/not-found.js';
import { route } from './deps.js';

import { appParams, pageQuerySchema } from './schemas.js';

export const applicationRoutes = [
  route({
    method: 'PUT',
    path: '/applications/{app}',
    access: { action: 'applications:put', resource: ({ params }) => `application/${params.app}` },
    params: appParams,
    body: applicationBodySchema,
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
  route({
    method: 'GET',
    path: '/applications',
    access: { action: 'applications:list', list: true },
    query: pageQuerySchema,
    async handle({ query, deps, visible }) {
      return { statusCode: 200, body: await deps.applications.list({ ...query, visible: (a) => visible(`application/${a.name}`) }) };
    },
  }),
  route({
    method: 'GET',
    path: '/applications/{app}',
    access: { action: 'applications:get', resource: ({ params }) => `application/${params.app}`, missing: ({ params }) => notFound.application(params.app) },
    params: appParams,
    async handle({ params, deps }) {
      const application = await deps.applications.get(params.app);
      if (!application) throw notFound.application(params.app);
      return { statusCode: 200, body: { ...application, revisionSources: effectiveRevisionSources(application, deps.artifactBucket) } };
    },
  }),
  route({
    method: 'DELETE',
    path: '/applications/{app}',
    access: { action: 'applications:delete', resource: ({ params }) => `application/${params.app}`, missing: ({ params }) => notFound.application(params.app) },
    params: appParams,
    async handle({ params, deps }) {
      await deps.applications.delete(params.app);
      return { statusCode: 204 };
    },
  }),
];
