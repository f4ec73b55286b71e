import type { z } from 'zod';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** A route's answers by status: a body schema, or null for an answer without a body (204). */
export type ResponseSchemas = { readonly [status: number]: z.ZodType | null };

/**
 * One operation of the HTTP contract: what a client sends and what it gets back.
 * The API's routes serve operations (lib/http/router.ts), the OpenAPI document
 * is generated from them, and the CLI's client is typed by them; no handler code
 * is reachable from here, so a client can import the contract alone.
 */
export interface Operation<
  PS extends z.ZodType = z.ZodType,
  QS extends z.ZodType = z.ZodType,
  BS extends z.ZodType = z.ZodType,
  RS extends ResponseSchemas = ResponseSchemas,
> {
  /** Unique, camelCase: the OpenAPI operationId and the name a client calls it by. */
  operationId: string;
  method: HttpMethod;
  /** Path template, e.g. `/applications/{app}/groups/{group}`. */
  path: string;
  /** The OpenAPI tag it is listed under. */
  tag: string;
  summary: string;
  description?: string;
  params?: PS;
  query?: QS;
  /** Without a body schema, any body is rejected. */
  body?: BS;
  /** Successful answers by status. */
  responses: RS;
  /**
   * Error statuses this operation gives beyond those that follow from its shape
   * (400 for any invalid input, 401/403 unless public, 404 for an item route,
   * 413/415 with a body, 429 and 500): 404 on a list, 409, 422, 502, 503.
   */
  errors?: readonly number[];
  /** Answers without reading the store (no throttling): /health, /openapi.json. */
  static?: true;
}

/** Declares an operation, keeping its schemas' types. */
export function operation<PS extends z.ZodType, QS extends z.ZodType, BS extends z.ZodType, const RS extends ResponseSchemas>(
  op: Operation<PS, QS, BS, RS>,
): Operation<PS, QS, BS, RS> {
  return op;
}

type BodyOf<S> = S extends z.ZodType ? z.input<S> : undefined;

/** What a handler may answer: one of the operation's statuses, with a body of that status's schema. */
export type ResultOf<RS extends ResponseSchemas> = {
  [K in keyof RS & number]: RS[K] extends z.ZodType
    ? { statusCode: K; body: BodyOf<RS[K]>; headers?: Record<string, string>; routine?: boolean }
    : { statusCode: K; body?: undefined; headers?: Record<string, string>; routine?: boolean };
}[keyof RS & number];
