import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import type { ApiEvent, ApiResult } from '../../lib/http/types.js';
import { lambdaContext } from '../../local/lambda-context.js';

export function loadEvent<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8')) as T;
}

const template = loadEvent<ApiEvent>('api-put-application.json');

export interface RequestOptions {
  body?: unknown;
  /** A raw body string, sent as is (for malformed JSON). */
  rawBody?: string;
  query?: Record<string, string>;
  principal?: string | null;
  headers?: Record<string, string>;
}

/** An HTTP API (payload 2.0, IAM authorizer) event shaped like events/api-put-application.json. */
export function apiEvent(method: string, path: string, options: RequestOptions = {}): ApiEvent {
  const event = structuredClone(template);
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  event.rawPath = path;
  event.rawQueryString = new URLSearchParams(options.query ?? {}).toString();
  event.queryStringParameters = options.query;
  event.pathParameters = { proxy: path.replace(/^\//, '') };
  event.requestContext.http.method = method;
  event.requestContext.http.path = path;
  event.requestContext.requestId = `test-${Math.random().toString(36).slice(2)}`;
  event.headers = { ...event.headers, ...options.headers };
  if (body === undefined) {
    delete event.body;
    delete event.headers['content-length'];
  } else {
    event.body = body;
    event.headers['content-length'] = String(Buffer.byteLength(body));
  }
  if (options.principal === null) delete (event.requestContext as { authorizer?: unknown }).authorizer;
  else if (options.principal) event.requestContext.authorizer.iam.userArn = options.principal;
  return event;
}

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

/** Calls a handler the way API Gateway would and parses its JSON answer. */
export function apiClient(handler: Handler) {
  return async function call<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const result = await handler(apiEvent(method, path, options), lambdaContext('api'));
    const text = result.body ?? '';
    return {
      status: result.statusCode ?? 200,
      body: (text === '' ? undefined : JSON.parse(text)) as T,
      headers: (result.headers ?? {}) as Record<string, unknown>,
    };
  };
}
