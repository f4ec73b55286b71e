import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type ApiEvent = APIGatewayProxyEventV2WithIAMAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** The event after the JSON body middleware: body is the parsed value (undefined when absent). */
export type ParsedApiEvent = Omit<ApiEvent, 'body'> & { body: unknown };

export interface HttpResult {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A routine outcome (an idle agent's check-in that found nothing): logged at DEBUG, not INFO. */
  routine?: boolean;
}

export const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function toApiResult(result: HttpResult): ApiResult {
  return {
    statusCode: result.statusCode,
    headers: { ...JSON_HEADERS, ...result.headers },
    body: result.body === undefined ? '' : JSON.stringify(result.body),
  };
}
