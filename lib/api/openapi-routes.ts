import type { Route } from '../http/router.js';
import { type ApiDeps, route } from './deps.js';
import { type OpenApiDocument, openApiDocument } from './openapi.js';
import { operations } from './operations.js';

/** GET /openapi.json over the route table it is given (built once per container, on first request). */
export function openApiRoutes(table: () => readonly Route<ApiDeps>[]) {
  let document: OpenApiDocument | undefined;
  return [
    route(operations.getOpenApi, {
      // Any signed caller: the document describes the API (as docs/openapi.json does) and holds no data.
      access: 'signed',
      async handle() {
        document ??= openApiDocument(table());
        return { statusCode: 200, body: document };
      },
    }),
  ];
}
