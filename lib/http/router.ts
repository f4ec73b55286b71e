import type { z } from 'zod';
import { parseOrThrow } from '../domain/validation.js';
import { MethodNotAllowedError, NotFoundError, UnauthorizedError, ValidationError } from '../errors.js';
import type { HttpResult, ParsedApiEvent } from './types.js';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface RouteInput<P, Q, B, D> {
  params: P;
  query: Q;
  body: B;
  /** The caller's IAM principal ARN (from API Gateway's IAM authorizer); absent only on public routes. */
  principal: string;
  deps: D;
  event: ParsedApiEvent;
}

/** What a route does, for access rules: one action on one resource. */
export interface AccessTarget {
  action: string;
  resource: string;
}

export interface Authorizing {
  authorizer: { authorize(principal: string, action: string, resource: string): Promise<unknown> };
}

export interface RouteDefinition<PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, D> {
  method: HttpMethod;
  /** Path template, e.g. `/applications/{app}/groups/{group}`. */
  path: string;
  /**
   * Who may call it: `public` (only /health), `agent` (the use case checks the
   * caller is the instance's own agent), `self` (the use case checks a rule
   * itself, e.g. credentials), or the action and resource the access rules decide on.
   */
  access: 'public' | 'agent' | 'self' | ((input: { params: z.output<PS>; query: z.output<QS>; body: z.output<BS>; deps: D }) => AccessTarget | Promise<AccessTarget>);
  params?: PS;
  query?: QS;
  /** Without a body schema, any body is rejected. */
  body?: BS;
  handle(input: RouteInput<z.output<PS>, z.output<QS>, z.output<BS>, D>): Promise<HttpResult>;
}

export interface Route<D> {
  method: HttpMethod;
  path: string;
  access: 'public' | 'agent' | 'self' | 'rules';
  /** The action and resource for a request (rules routes only). */
  target?: (input: { params: unknown; query: unknown; body: unknown; deps: D }) => AccessTarget | Promise<AccessTarget>;
  segments: string[];
  dispatch(event: ParsedApiEvent, params: Record<string, string>, deps: D): Promise<HttpResult>;
}

/** A `route` builder bound to one dependency type, so handlers see their deps typed. */
export function routeBuilder<D>() {
  return <PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType>(def: RouteDefinition<PS, QS, BS, D>): Route<D> =>
    buildRoute(def);
}

function buildRoute<PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, D>(
  def: RouteDefinition<PS, QS, BS, D>,
): Route<D> {
  const target = typeof def.access === 'function' ? (def.access as Route<D>['target']) : undefined;
  return {
    method: def.method,
    path: def.path,
    access: typeof def.access === 'function' ? 'rules' : def.access,
    target,
    segments: def.path.split('/').filter(Boolean),
    async dispatch(event, rawParams, deps) {
      const principal = event.requestContext.authorizer?.iam?.userArn;
      if (def.access !== 'public' && !principal) throw new UnauthorizedError('The request is not signed by an IAM principal');
      const params = def.params ? parseOrThrow(def.params, rawParams, 'path', 'path') : rawParams;
      const query = def.query ? parseOrThrow(def.query, event.queryStringParameters ?? {}, 'query string', 'query') : {};
      let body: unknown;
      if (def.body) body = parseOrThrow(def.body, event.body);
      else if (event.body !== undefined) {
        throw new ValidationError('This request takes no body', [
          { path: '$', message: 'must be empty' },
        ]);
      }
      if (target && principal) {
        const { action, resource } = await target({ params, query, body, deps });
        await (deps as unknown as Authorizing).authorizer.authorize(principal, action, resource);
      }
      return def.handle({ params, query, body, principal: principal ?? '', deps, event } as never);
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
