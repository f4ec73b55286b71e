import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { apiRoutes } from '../../lib/api/handler.js';
import { ERROR_RESPONSES, errorStatuses, openApiDocument } from '../../lib/api/openapi.js';
import { operations } from '../../lib/api/operations.js';

/**
 * docs/openapi.json is what the route table generates (npm run openapi writes
 * it), and the document states every route as the router serves it: each
 * method and path once, its path and query parameters, its body, its answers
 * and its errors in the one error shape, every schema valid JSON Schema 2020-12.
 * test/integration/openapi-responses.test.ts checks real answers against it.
 */
const generated = openApiDocument(apiRoutes);
const checkedIn = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
const components = generated.components as { schemas: Record<string, Record<string, unknown>>; responses: Record<string, any> };

/** Every `$ref` in a value. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, found));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') found.push(v);
      else refs(v, found);
    }
  }
  return found;
}

const resolve = (ref: string) => ref.replace(/^#\//, '').split('/').reduce<any>((node, part) => node?.[part], generated);

describe('the OpenAPI document', () => {
  it('is checked in as generated (run npm run openapi after changing a route or a schema)', () => {
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(generated)));
  });

  it('has each route once, under its method and path, and nothing else', () => {
    const documented = Object.entries(generated.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    const routed = apiRoutes.map((r) => `${r.method} ${r.path}`);
    expect(documented.sort()).toEqual([...routed].sort());
    expect(new Set(routed).size).toBe(routed.length);
    const ids = apiRoutes.map((r) => r.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(Object.keys(operations).sort());
    for (const [id, op] of Object.entries(operations)) expect(op.operationId).toBe(id);
  });

  it.each(apiRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: parameters, body, answers and errors', (_key, route) => {
    const op = route.operation;
    const documented = generated.paths[op.path]![op.method.toLowerCase()] as any;
    expect(documented.operationId).toBe(op.operationId);
    // Path parameters: exactly the template's, all required; query parameters: the query schema's keys.
    const templated = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const inPath = documented.parameters.filter((p: any) => p.in === 'path');
    expect(inPath.map((p: any) => p.name)).toEqual(templated);
    expect(inPath.every((p: any) => p.required)).toBe(true);
    expect(Object.keys(op.params ? (op.params as any).shape : {})).toEqual(templated);
    const inQuery = documented.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name);
    expect(inQuery).toEqual(Object.keys(op.query ? (op.query as any).shape ?? (op.query as any).def?.in?.shape ?? {} : {}));
    // A body exactly where the route takes one, required unless the route accepts none.
    expect(documented.requestBody !== undefined).toBe(op.body !== undefined);
    if (op.body) expect(documented.requestBody.required).toBe(!op.body.safeParse(undefined).success);
    // Answers: each success status with its schema (none for a 204), then each error status in the error shape.
    const statuses = Object.keys(documented.responses).map(Number);
    expect(statuses).toEqual([...Object.keys(op.responses).map(Number), ...errorStatuses(route)].sort((a, b) => a - b));
    for (const [status, schema] of Object.entries(op.responses)) {
      const content = documented.responses[status].content;
      if (schema === null) expect(content).toBeUndefined();
      else expect(resolve(content['application/json'].schema.$ref)).toBeDefined();
    }
    for (const status of errorStatuses(route)) {
      const response = resolve(documented.responses[status].$ref);
      expect(response.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
    // Public routes alone need no signature; the rest name who may call them.
    expect(documented.security).toEqual(route.access === 'public' ? [] : undefined);
    expect(documented['x-fleetline-access'].kind).toBe(route.access === 'rules' && route.list ? 'list' : route.access);
    if (route.action) expect(documented['x-fleetline-access'].action).toBe(route.action);
  });

  it('answers errors in one shape: a code, a message, and details by JSON path', () => {
    expect(Object.keys(components.responses).sort()).toEqual(Object.values(ERROR_RESPONSES).map((e) => e.name).sort());
    const error = components.schemas.Error as any;
    expect(error.required).toEqual(['error']);
    expect(error.properties.error.required).toEqual(['code', 'message']);
    expect(Object.keys(error.properties.error.properties)).toEqual(['code', 'message', 'details', 'requestId']);
  });

  it('has no reference to a schema or response it does not define', () => {
    const dangling = refs(generated).filter((ref) => resolve(ref) === undefined);
    expect(dangling).toEqual([]);
  });

  it('holds valid JSON Schema 2020-12 in every component, closed to fields it does not name', () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats.default(ajv);
    // The components as one schema with $defs, so that references resolve under strict mode.
    const defs = JSON.parse(JSON.stringify(components.schemas).replaceAll('#/components/schemas/', '#/$defs/'));
    ajv.addSchema({ $id: 'fleetline', $defs: defs });
    for (const name of Object.keys(defs)) expect(() => ajv.getSchema(`fleetline#/$defs/${name}`), name).not.toThrow();
    // Answers name every field: an object schema of an answer allows nothing else (OpenApiDocument itself excepted).
    const open = Object.entries(components.schemas)
      .filter(([name]) => !name.endsWith('Request') && name !== 'OpenApiDocument')
      .filter(([, schema]) => JSON.stringify(schema).includes('"additionalProperties":{}'));
    expect(open.map(([name]) => name)).toEqual([]);
  });
});
