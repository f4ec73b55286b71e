import { describe, expect, it } from 'vitest';
import { ApiError, type FleetlineApi } from '../../cli/api.js';
import { followLog } from '../../cli/follow-log.js';
import { operations } from '../../lib/api/operations.js';

/** An API stand-in answering each GET from a script, in order, recording what was asked (as path and query). */
function scripted(answers: Record<string, (query: Record<string, string | undefined>) => unknown>) {
  const asked: string[] = [];
  const api = {
    call: async (id: keyof typeof operations, params: Record<string, unknown>) => {
      const rest: Record<string, unknown> = { ...params };
      const path = operations[id].path.replace(/\{(\w+)\}/g, (_, name: string) => {
        const value = String(rest[name]);
        delete rest[name];
        return value;
      });
      const query = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)]));
      asked.push(`${path}${query.cursor !== undefined ? `?cursor=${query.cursor}&follow=${query.follow}` : ''}`);
      const answer = answers[path]?.(query);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as FleetlineApi;
  return { api, asked };
}

const LOG = '/deployments/d-ABCDEFGHI/instances/i-1/log';
const page = (over: Record<string, unknown>) => ({ instanceStatus: 'InProgress', chunks: [], cursor: -1, more: false, ended: false, pollAfterMs: 0, ...over });

describe('fleetline logs --follow', () => {
  it('waits for a just-created deployment\'s targets, then writes chunks in order and reads on from the cursor until the end', async () => {
    let reads = 0;
    const { api, asked } = scripted({
      [LOG]: (q) => {
        reads++;
        if (reads === 1) return new ApiError(404, 'NotFoundError', 'Instance i-1 is not a target of deployment d-ABCDEFGHI');
        if (reads === 2) return page({ chunks: [{ seq: 0, text: 'one\n' }], cursor: 0, more: true });
        if (reads === 3) return page({ chunks: [{ seq: 1, text: 'two\n' }], cursor: Number(q.cursor) + 1 });
        return page({ instanceStatus: 'Succeeded', ended: true, cursor: Number(q.cursor) });
      },
      '/deployments/d-ABCDEFGHI': () => ({ status: 'Created' }),
    });
    const written: string[] = [];
    const said: string[] = [];
    expect(await followLog(api, 'd-ABCDEFGHI', 'i-1', (t) => written.push(t), (l) => said.push(l))).toEqual({ status: 'Succeeded', streamed: true });
    expect(written).toEqual(['one\n', 'two\n']);
    expect(said).toEqual(['d-ABCDEFGHI: Created, waiting for its targets']);
    expect(asked.filter((a) => a.startsWith(LOG))).toEqual([
      `${LOG}?cursor=-1&follow=true`,
      `${LOG}?cursor=-1&follow=true`,
      `${LOG}?cursor=0&follow=true`,
      `${LOG}?cursor=1&follow=true`,
    ]);
  });

  it('an instance that is not a target of a deployment past Created is an error, at once', async () => {
    const { api } = scripted({
      [LOG]: () => new ApiError(404, 'NotFoundError', 'Instance i-1 is not a target of deployment d-ABCDEFGHI'),
      '/deployments/d-ABCDEFGHI': () => ({ status: 'InProgress' }),
    });
    await expect(followLog(api, 'd-ABCDEFGHI', 'i-1', () => undefined, () => undefined)).rejects.toThrow('Instance i-1 is not a target of deployment d-ABCDEFGHI');
  });

  it('an instance that ended before anything streamed says so, for the caller to show the full log', async () => {
    const { api } = scripted({ [LOG]: () => page({ instanceStatus: 'Failed', ended: true }) });
    expect(await followLog(api, 'd-ABCDEFGHI', 'i-1', () => undefined, () => undefined)).toEqual({ status: 'Failed', streamed: false });
  });
});
