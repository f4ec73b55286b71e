// npm run openapi: writes docs/openapi.json, the API's OpenAPI document, from the route table
// (test/unit/openapi.test.ts fails while the checked-in file differs from what the code generates).
import { writeFileSync } from 'node:fs';
import { apiRoutes } from '../lib/api/handler.js';
import { openApiDocument } from '../lib/api/openapi.js';

const file = new URL('../docs/openapi.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(openApiDocument(apiRoutes), null, 2)}\n`);
console.log(`Wrote ${file.pathname}`);
