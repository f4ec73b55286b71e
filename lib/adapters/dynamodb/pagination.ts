import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../errors.js';

type Key = Record<string, NativeAttributeValue>;

/** Opaque to clients: base64url JSON of DynamoDB's LastEvaluatedKey. */
export function encodeNextToken(lastEvaluatedKey: Key | undefined): string | undefined {
  if (!lastEvaluatedKey) return undefined;
  return Buffer.from(JSON.stringify(lastEvaluatedKey), 'utf8').toString('base64url');
}

/**
 * Decodes a token and checks it can only resume the same query: exactly the
 * expected string key attributes, and the same partition. Anything else is a 400,
 * never a DynamoDB error.
 */
export function decodeNextToken(
  token: string | undefined,
  expectedAttributes: readonly string[],
  partition: { attribute: string; value: string },
): Key | undefined {
  if (token === undefined) return undefined;
  const invalid = () => new ValidationError('nextToken is not valid for this listing', [
    { path: 'query.nextToken', message: 'must be a nextToken returned by this listing' },
  ]);
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw invalid();
  const entries = Object.entries(decoded);
  const wanted = new Set(expectedAttributes);
  if (entries.length !== wanted.size) throw invalid();
  for (const [name, value] of entries) {
    if (!wanted.has(name) || typeof value !== 'string' || value.length > 1024) throw invalid();
  }
  if ((decoded as Key)[partition.attribute] !== partition.value) throw invalid();
  return decoded as Key;
}
