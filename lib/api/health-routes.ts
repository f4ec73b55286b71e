import { route } from './deps.js';

export const healthRoutes = [
  route({
    method: 'GET',
    path: '/health',
    access: 'public',
    async handle() {
      return { statusCode: 200, body: { status: 'ok' } };
    },
  }),
];
