import { z } from 'zod';
import { API_VERSION } from '../domain/client-config.js';
import type { Operation } from '../http/operation.js';
import type { Route } from '../http/router.js';
import { models } from './responses.js';

/**
 * The OpenAPI 3.1 document of the API, generated from the route table: each
 * route's operation gives its parameters, request body and answers (zod schemas
 * turned into JSON Schema 2020-12), its access gives its security and the
 * action access rules decide on (x-fleetline-access). docs/openapi.json is this
 * document checked in (npm run openapi writes it; a test compares them).
 */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  [key: string]: unknown;
}

const REF = '#/components/schemas/';
type JsonSchema = Record<string, unknown>;

/** Why each error status is given, as the document's shared responses. */
export const ERROR_RESPONSES: Record<number, { name: string; description: string }> = {
  400: { name: 'BadRequest', description: 'The request is invalid (a parameter, the body, a body where none is taken, malformed JSON): details name each problem by JSON path' },
  401: { name: 'Unauthorized', description: 'The request is not signed by an IAM principal' },
  403: { name: 'Forbidden', description: 'No access rule allows the caller this action on this resource (administrators only, for access rules)' },
  404: { name: 'NotFound', description: 'The item does not exist, or the caller may not see it (the same answer)' },
  409: { name: 'Conflict', description: 'The item is in a state that does not allow this (a group with an active deployment, an execution not waiting for approval, a write that raced another)' },
  413: { name: 'PayloadTooLarge', description: 'The body is larger than 256 KiB' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not application/json' },
  422: { name: 'Unprocessable', description: 'Valid JSON whose meaning cannot be honoured (an unknown deployment config, a revision that is not a valid bundle, a role Fleetline will not assume): details say what to change' },
  429: { name: 'Throttled', description: 'The store is throttling requests: try again' },
  500: { name: 'InternalError', description: 'A fault of Fleetline: the body names only the request ID to report' },
  502: { name: 'DependencyFailed', description: 'An AWS service Fleetline calls (S3, STS, EC2) failed: the message names it and what to check' },
  503: { name: 'DependencyNotConfigured', description: 'A service Fleetline needs cannot be called as configured: the message names what to configure' },
};

const SUCCESS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted: recorded, the worker carries it out', 204: 'Done, no body' };

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The error statuses a route can answer: those that follow from its shape, and those its operation names. */
export function errorStatuses<D>(route: Pick<Route<D>, 'access' | 'operation'>): number[] {
  const op = route.operation;
  const statuses = new Set<number>([400, 500, ...(op.errors ?? [])]);
  if (route.access !== 'public') statuses.add(401);
  if (route.access !== 'public' && route.access !== 'signed') statuses.add(403);
  if (op.path.includes('{')) statuses.add(404);
  if (op.body) [413, 415].forEach((s) => statuses.add(s));
  if (!op.static) statuses.add(429);
  return [...statuses].sort((a, b) => a - b);
}

/** JSON Schema for every schema of a registry, each without its own $schema/$id (they sit in components). */
function convert(registry: z.core.$ZodRegistry<{ id: string; description?: string }>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', io, uri: (id) => `${REF}${id}`, unrepresentable: 'throw' });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, json]) => {
      const { $schema: _schema, $id: _id, ...rest } = json as JsonSchema;
      return [id, rest];
    }),
  );
}

function parametersOf(op: Operation, inputs: Record<string, JsonSchema>): JsonSchema[] {
  const parameters: JsonSchema[] = [];
  for (const [where, key] of [['path', 'params'], ['query', 'query']] as const) {
    const object = inputs[`${capitalized(op.operationId)}${capitalized(key)}`];
    if (!object) continue;
    const required = new Set((object.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((object.properties ?? {}) as Record<string, JsonSchema>)) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: where, required: where === 'path' || required.has(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  return parameters;
}

function accessOf<D>(route: Route<D>): JsonSchema {
  if (route.access === 'public' || route.access === 'signed' || route.access === 'agent') return { kind: route.access };
  return { kind: route.list ? 'list' : route.access, action: route.action };
}

export function openApiDocument<D>(routes: readonly Route<D>[]): OpenApiDocument {
  // Answers are what the API sends (output); requests what a client may send (input: defaults optional).
  const outputs = z.registry<{ id: string; description?: string }>();
  const inputs = z.registry<{ id: string; description?: string }>();
  for (const [schema, meta] of models) outputs.add(schema, meta);
  const responseRefs = new Map<z.ZodType, string>();
  for (const { operation: op } of routes) {
    const name = capitalized(op.operationId);
    for (const [status, schema] of Object.entries(op.responses)) {
      if (!schema || outputs.has(schema) || responseRefs.has(schema)) continue;
      const distinct = new Set(Object.values(op.responses).filter(Boolean)).size;
      const id = `${name}Response${distinct > 1 ? status : ''}`;
      outputs.add(schema, { id });
      responseRefs.set(schema, id);
    }
    if (op.params) inputs.add(op.params, { id: `${name}Params` });
    if (op.query) inputs.add(op.query, { id: `${name}Query` });
    if (op.body) inputs.add(op.body, { id: `${name}Request` });
  }
  const schemas = convert(outputs, 'output');
  const requests = convert(inputs, 'input');

  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const op = route.operation;
    const name = capitalized(op.operationId);
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(op.responses)) {
      const text = SUCCESS_TEXT[Number(status)] ?? 'OK';
      responses[status] = schema
        ? { description: text, content: { 'application/json': { schema: { $ref: `${REF}${outputs.get(schema)!.id}` } } } }
        : { description: text };
    }
    for (const status of errorStatuses(route)) responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status]!.name}` };
    const body = op.body && requests[`${name}Request`];
    if (body) schemas[`${name}Request`] = body;
    const operation = {
      operationId: op.operationId,
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      ...(route.access === 'public' ? { security: [] } : {}),
      'x-fleetline-access': accessOf(route),
      parameters: parametersOf(op, requests),
      ...(op.body && body
        ? { requestBody: { required: !op.body.safeParse(undefined).success, content: { 'application/json': { schema: { $ref: `${REF}${name}Request` } } } } }
        : {}),
      responses,
    };
    (paths[op.path] ??= {})[op.method.toLowerCase()] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Fleetline API',
      version: API_VERSION,
      description:
        'Fleetline\'s HTTP API. Every request but GET /health is signed with AWS Signature Version 4 (service execute-api) by an IAM principal; ' +
        'access rules then decide each action on each resource (x-fleetline-access names the action; kind list filters each item). ' +
        'Every error answers the Error schema.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ sigv4: [] }],
    tags: [...new Set(routes.map((r) => r.operation.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS Signature Version 4 for service execute-api (API Gateway\'s IAM authorization); the local stack takes unsigned requests.',
        },
      },
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(({ name, description }) => [
          name,
          { description, content: { 'application/json': { schema: { $ref: `${REF}Error` } } } },
        ]),
      ),
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}
