import type { z } from 'zod';
import { parseOrThrow } from '../domain/validation.js';
import { MethodNotAllowedError, NotFoundError, UnauthorizedError, ValidationError } from '../errors.js';
import type { HttpMethod, Operation, ResponseSchemas, ResultOf } from './operation.js';
import type { HttpResult, ParsedApiEvent } from './types.js';

export interface RouteInput<P, Q, B, D> {
  params: P;
  query: Q;
  body: B;
  /** The caller's IAM principal ARN (from API Gateway's IAM authorizer); absent only on public routes. */
  principal: string;
  deps: D;
  event: ParsedApiEvent;
  /** On list routes, whether the caller may see the item named by this resource (a Deny hides it); true elsewhere. */
  visible: (resource: string) => boolean;
}

/** The resource an item route acts on, and how a 403 may name it (hiding an item's application and group). */
export interface ResourceName {
  resource: string;
  shownAs?: string | undefined;
}

export interface Authorizing {
  authorizer: {
    authorize(principal: string, action: string, resource: string, shownAs?: string, refusedAs?: () => Error): Promise<unknown>;
    gate(principal: string, action: string, shownAs: string): Promise<void>;
    visibility(principal: string, action: string, shownAs: string): Promise<(resource: string) => boolean>;
  };
}

type AccessInput<PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, D> = {
  params: z.output<PS>;
  query: z.output<QS>;
  body: z.output<BS>;
  deps: D;
};

/**
 * Who may call a route: `public` (only /health); `signed` (any caller signed by an IAM
 * principal, no rule consulted: what describes the API and holds no data); `agent` (the use case checks the
 * caller is the instance's own agent); `{ action, self }` (the use case checks a rule
 * itself, e.g. credentials, once the caller is known to hold some grant for the
 * action); `{ action, list }` (each listed item is filtered through the rules); or
 * `{ action, resource, missing? }`, the one resource the access rules decide on.
 *
 * Authorization comes before existence and before validation: a caller holding no
 * grant for the action gets 403 whatever the input, and never learns what exists.
 *
 * Hidden means missing: a route that acts on an existing item names, in `missing`,
 * its answer for an item that does not exist, and a caller who holds some grant for
 * the action but is refused this item gets exactly that answer, so a Deny cannot be
 * told from an absence. `resource` answers undefined for an item it finds missing
 * (an unknown ID). Routes that create what they name have no `missing`: their
 * refusal is a 403 that does not depend on what exists. No refusal names a rule.
 */
export type AccessSpec<PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, D> =
  | 'public'
  | 'signed'
  | 'agent'
  | { action: string; self: true }
  | { action: string; list: true }
  | {
      action: string;
      resource: (input: AccessInput<PS, QS, BS, D>) => string | ResourceName | undefined | Promise<string | ResourceName | undefined>;
      missing?: (input: AccessInput<PS, QS, BS, D>) => Error;
    };

/** How a route serves its operation: who may call it, and its handler. */
export interface RouteDefinition<PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, RS extends ResponseSchemas, D> {
  access: AccessSpec<PS, QS, BS, D>;
  /**
   * Agent routes name their instance in the body, so the use case authorizes the
   * caller once the body is parsed. When the input is invalid this decides first,
   * from the raw body, so a caller that is not the agent gets 403, not a validation answer.
   */
  gateInvalid?: (principal: string, rawBody: unknown, deps: D) => Promise<void>;
  /** Typed by the operation's responses: an answer the contract does not describe does not compile. */
  handle(input: RouteInput<z.output<PS>, z.output<QS>, z.output<BS>, D>): Promise<ResultOf<RS>>;
}

export interface Route<D> {
  method: HttpMethod;
  path: string;
  /** The contract it serves (the OpenAPI document is generated from these). */
  operation: Operation;
  access: 'public' | 'signed' | 'agent' | 'self' | 'rules';
  /** The action access rules decide on (rules and self routes). */
  action?: string;
  /** Whether the route lists items, each filtered through the rules. */
  list?: boolean;
  /** The resource for a request (item routes only); undefined for an item found missing. */
  target?: (input: { params: unknown; query: unknown; body: unknown; deps: D }) => Promise<ResourceName | undefined>;
  /** The route's answer for a missing item, given as well to a caller refused the item (routes acting on an existing item). */
  missing?: (input: { params: unknown; query: unknown; body: unknown; deps: D }) => Error;
  segments: string[];
  dispatch(event: ParsedApiEvent, params: Record<string, string>, deps: D): Promise<HttpResult>;
}

/** A `route` builder bound to one dependency type, so handlers see their deps typed. */
export function routeBuilder<D>() {
  return <PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, RS extends ResponseSchemas>(
    op: Operation<PS, QS, BS, RS>,
    // The operation alone decides the types; the handler is checked against them.
    def: NoInfer<RouteDefinition<PS, QS, BS, RS, D>>,
  ): Route<D> => buildRoute(op, def);
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: unknown };

function attempt(parse: () => unknown): Parsed {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    if (error instanceof ValidationError) return { ok: false, error };
    throw error;
  }
}

function buildRoute<PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, RS extends ResponseSchemas, D>(
  op: Operation<PS, QS, BS, RS>,
  def: RouteDefinition<PS, QS, BS, RS, D>,
): Route<D> {
  const spec = def.access;
  const action = typeof spec === 'object' ? spec.action : undefined;
  const list = typeof spec === 'object' && 'list' in spec;
  const self = typeof spec === 'object' && 'self' in spec;
  const resourceOf = typeof spec === 'object' && 'resource' in spec ? spec.resource : undefined;
  const missingOf = typeof spec === 'object' && 'missing' in spec ? spec.missing : undefined;
  const target = resourceOf
    ? async (input: { params: unknown; query: unknown; body: unknown; deps: D }): Promise<ResourceName | undefined> => {
        const named = await resourceOf(input as AccessInput<PS, QS, BS, D>);
        return typeof named === 'string' ? { resource: named } : named;
      }
    : undefined;
  const missing = missingOf
    ? (input: { params: unknown; query: unknown; body: unknown; deps: D }) => missingOf(input as AccessInput<PS, QS, BS, D>)
    : undefined;
  return {
    method: op.method,
    path: op.path,
    operation: op as unknown as Operation,
    access: typeof spec === 'string' ? spec : self ? 'self' : 'rules',
    action,
    list,
    target,
    missing,
    segments: op.path.split('/').filter(Boolean),
    async dispatch(event, rawParams, deps) {
      const principal = event.requestContext.authorizer?.iam?.userArn;
      if (spec !== 'public' && !principal) throw new UnauthorizedError('The request is not signed by an IAM principal');
      const parsed = [
        attempt(() => (op.params ? parseOrThrow(op.params, rawParams, 'path', 'path') : rawParams)),
        attempt(() => (op.query ? parseOrThrow(op.query, event.queryStringParameters ?? {}, 'query string', 'query') : {})),
        attempt(() => {
          if (op.body) return parseOrThrow(op.body, event.body);
          if (event.body !== undefined) throw new ValidationError('This request takes no body', [{ path: '$', message: 'must be empty' }]);
          return undefined;
        }),
      ];
      const authorizer = (deps as unknown as Authorizing).authorizer;
      const invalid = parsed.find((p) => !p.ok);
      if (invalid && !invalid.ok) {
        if (action && principal) await authorizer.gate(principal, action, op.path);
        if (def.gateInvalid && principal) await def.gateInvalid(principal, event.body, deps);
        throw invalid.error;
      }
      const [params, query, body] = parsed.map((p) => (p.ok ? p.value : undefined));
      let visible: (resource: string) => boolean = () => true;
      if (action && principal) {
        if (list) visible = await authorizer.visibility(principal, action, op.path);
        else if (self) await authorizer.gate(principal, action, op.path);
        else if (target) {
          const input = { params, query, body, deps };
          const named = await target(input);
          if (!named) {
            if (!missing) throw new Error(`${op.method} ${op.path} found its item missing but has no missing answer`);
            await authorizer.gate(principal, action, op.path);
            throw missing(input);
          }
          await authorizer.authorize(principal, action, named.resource, named.shownAs, missing && (() => missing(input)));
        }
      }
      const result: HttpResult = await def.handle({ params, query, body, principal: principal ?? '', deps, event, visible } as never);
      return result;
    },
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Finds the route for a method and path; 404 for an unknown path, 405 for a known path with another method. */
export function matchRoute<D>(
  routes: readonly Route<D>[],
  method: string,
  path: string,
): { route: Route<D>; params: Record<string, string> } {
  const parts = path.split('/').filter(Boolean).map(decodeSegment);
  let pathKnown = false;
  for (const candidate of routes) {
    const params = matchSegments(candidate.segments, parts);
    if (!params) continue;
    pathKnown = true;
    if (candidate.method === method) return { route: candidate, params };
  }
  if (pathKnown) throw new MethodNotAllowedError(`${method} is not supported on ${path}`);
  throw new NotFoundError(`No route for ${method} ${path}`);
}

function matchSegments(template: string[], parts: string[]): Record<string, string> | undefined {
  if (template.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] as string;
    const p = parts[i] as string;
    if (t.startsWith('{') && t.endsWith('}')) params[t.slice(1, -1)] = p;
    else if (t !== p) return undefined;
  }
  return params;
}
