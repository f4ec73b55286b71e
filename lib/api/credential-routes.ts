import { credentialsBodySchema } from '../domain/credentials.js';
import { issueCredentials } from '../credentials/issue-credentials.js';
import { pageQuerySchema } from './schemas.js';
import { route } from './deps.js';

export const credentialRoutes = [
  route({
    method: 'POST',
    path: '/credentials',
    // The rule that grants the role also bounds the session, so the use case checks it itself.
    access: { action: 'credentials:issue', self: true },
    body: credentialsBodySchema,
    async handle({ body, principal, deps, event }) {
      const sourceIp = event.requestContext.http?.sourceIp ?? '';
      return { statusCode: 200, body: await issueCredentials(principal, sourceIp, body, deps) };
    },
  }),
  route({
    method: 'GET',
    path: '/credentials/audit',
    access: { action: 'credentials:audit', resource: () => 'credentials/audit' },
    query: pageQuerySchema,
    async handle({ query, deps }) {
      return { statusCode: 200, body: await deps.audit.list(query) };
    },
  }),
];
