import { describe, expect, it } from 'vitest';
import { decodeNextToken, encodeNextToken } from '../../lib/adapters/dynamodb/pagination.js';
import { ValidationError } from '../../lib/errors.js';

const attributes = ['PK', 'SK', 'GSI1PK', 'GSI1SK'];
const partition = { attribute: 'GSI1PK', value: 'APPS' };
const key = { PK: 'APP#web', SK: 'APP', GSI1PK: 'APPS', GSI1SK: 'web' };

describe('nextToken', () => {
  it('round-trips the last evaluated key', () => {
    expect(decodeNextToken(encodeNextToken(key), attributes, partition)).toEqual(key);
  });

  it('is absent when there is no further page', () => {
    expect(encodeNextToken(undefined)).toBeUndefined();
  });

  const tampered: [string, string][] = [
    ['not base64 JSON', 'not-a-token'],
    ['another partition', encodeNextToken({ ...key, GSI1PK: 'INSTANCES' }) as string],
    ['a missing key attribute', encodeNextToken({ PK: 'APP#web', SK: 'APP', GSI1PK: 'APPS' }) as string],
    ['an extra attribute', encodeNextToken({ ...key, admin: 'true' }) as string],
    ['a non-string value', encodeNextToken({ ...key, SK: 5 }) as string],
    ['an array', Buffer.from('[1,2]').toString('base64url')],
  ];
  it.each(tampered)('rejects %s as a 400 on query.nextToken', (_name, token) => {
    const attempt = () => decodeNextToken(token, attributes, partition);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(expect.objectContaining({ details: [expect.objectContaining({ path: 'query.nextToken' })] }));
  });
});
