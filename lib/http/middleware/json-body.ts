import type { MiddlewareObj } from '@middy/core';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../errors.js';
import type { ApiEvent, ParsedApiEvent } from '../types.js';

/** Larger than any pipeline or group definition we accept, far below API Gateway's 10 MB. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Parses a JSON body in place; rejects oversize (413), non-JSON media types (415) and malformed JSON (400). */
export function jsonBody(maxBytes = MAX_BODY_BYTES): MiddlewareObj<ApiEvent> {
  return {
    name: 'jsonBody',
    before: (request) => {
      const event = request.event as unknown as ParsedApiEvent;
      const raw = request.event.body;
      if (raw === undefined || raw === null || raw === '') {
        event.body = undefined;
        return;
      }
      const bytes = request.event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
      if (bytes.length > maxBytes) {
        throw new PayloadTooLargeError(`The request body is ${bytes.length} bytes; the limit is ${maxBytes}`);
      }
      const contentType = headerValue(request.event.headers, 'content-type') ?? 'application/json';
      if (!/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) {
        throw new UnsupportedMediaTypeError(`Content-Type must be application/json, not "${contentType}"`);
      }
      try {
        event.body = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        throw new ValidationError('The request body is not valid JSON', [
          { path: '$', message: (error as Error).message },
        ]);
      }
    },
  };
}

export function headerValue(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
