import { route } from './deps.js';
import { operations } from './operations.js';

export const healthRoutes = [
  route(operations.getHealth, {
    access: 'public',
    async handle() {
      return { statusCode: 200, body: { status: 'ok' } };
    },
  }),
];
