import { issueCredentials } from '../credentials/issue-credentials.js';
import { route } from './deps.js';
import { operations } from './operations.js';

export const credentialRoutes = [
  route(operations.issueCredentials, {
    // The rule that grants the role also bounds the session, so the use case checks it itself.
    access: { action: 'credentials:issue', self: true },
    async handle({ body, principal, deps, event }) {
      const sourceIp = event.requestContext.http?.sourceIp ?? '';
      return { statusCode: 200, body: await issueCredentials(principal, sourceIp, body, deps) };
    },
  }),
  route(operations.listCredentialAudit, {
    access: { action: 'credentials:audit', resource: () => 'credentials/audit' },
    async handle({ query, deps }) {
      return { statusCode: 200, body: await deps.audit.list(query) };
    },
  }),
];
