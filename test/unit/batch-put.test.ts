import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { batchPut } from '../../lib/adapters/dynamodb/batch-write.js';

/** A client whose requests each wait for the test to answer them, recording what was sent. */
function heldClient() {
  const requests: { items: number; answer: (out: unknown) => void; fail: (error: Error) => void }[] = [];
  const doc = {
    send: (command: { input: { RequestItems: Record<string, unknown[]> } }) =>
      new Promise((answer, fail) => requests.push({ items: Object.values(command.input.RequestItems)[0]!.length, answer, fail })),
  } as unknown as DynamoDBDocumentClient;
  return { doc, requests };
}

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ PK: `P#${i}`, SK: 'S' }));
const until = async (check: () => boolean) => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setImmediate(r));
  expect(check()).toBe(true);
};

describe('batchPut', () => {
  it('writes 25 items per request, a few requests at a time', async () => {
    const { doc, requests } = heldClient();
    const done = batchPut(doc, 't', items(60), { concurrency: 2 });
    await until(() => requests.length === 2);
    requests[0]!.answer({});
    await until(() => requests.length === 3);
    requests[1]!.answer({});
    requests[2]!.answer({});
    await done;
    expect(requests.map((r) => r.items)).toEqual([25, 25, 10]);
  });

  it('when a request fails, starts no other and throws only once the requests in flight have settled', async () => {
    const { doc, requests } = heldClient();
    let settled = false;
    const done = batchPut(doc, 't', items(200), { concurrency: 3 }).finally(() => (settled = true));
    await until(() => requests.length === 3);
    requests[0]!.fail(new Error('throttled for good'));
    await new Promise((r) => setImmediate(r));
    requests[1]!.answer({});
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false); // one write is still on its way
    requests[2]!.answer({});
    await expect(done).rejects.toThrow('throttled for good');
    expect(requests).toHaveLength(3);
  });
});
