import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { LIVE_LOG } from '../../lib/domain/live-log.js';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';
import { type ScriptedAgent, agentPrincipal } from '../support/scripted-agent.js';

/** Every push the engine makes, as the channel would deliver it. */
const pushes: { instanceIds: readonly string[]; reason: string; deploymentId?: string | undefined }[] = [];
const api = useApi(() => ({
  notifier: {
    wake: async (instanceIds, reason, deploymentId) => {
      pushes.push({ instanceIds, reason, deploymentId });
    },
  },
}));
const { fleet } = useFleets(api);

/** One instance of a fresh fleet, its deployment dispatched and picked up by its agent. */
async function runningInstance() {
  const { agents, deploy } = await fleet(1);
  const { body } = await deploy();
  const agent = agents[0] as ScriptedAgent;
  expect((await agent.poll()).body.assignment.deploymentId).toBe(body.deploymentId);
  const deploymentId = body.deploymentId as string;
  const chunk = (seq: number, text: string, as = agent.instanceId, instanceId = agent.instanceId, id = deploymentId) =>
    api.send('POST', '/agent/v1/log', { body: { instanceId, deploymentId: id, seq, text }, principal: agentPrincipal(as) });
  const read = (query: Record<string, string> = {}, principal?: string) =>
    api.send('GET', `/deployments/${deploymentId}/instances/${agent.instanceId}/log`, { query, ...(principal ? { principal } : {}) });
  return { deploymentId, agent, chunk, read };
}

/** What the table holds of one instance's live log (chunks and lease). */
async function liveItems(deploymentId: string, instanceId: string) {
  const out = await api.table.doc.send(
    new QueryCommand({
      TableName: api.table.tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': `DEPLOYMENT#${deploymentId}` },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).filter((i) => String(i.SK).startsWith(`LIVELOG#${instanceId}#`) || String(i.SK) === `LIVEFOLLOW#${instanceId}`);
}

describe('live logs, with nobody following', () => {
  it('a chunk is refused politely (following: false) and nothing is written', async () => {
    const { deploymentId, agent, chunk, read } = await runningInstance();
    expect((await chunk(0, 'line 1\n')).body).toEqual({ following: false, followSeconds: 0 });
    expect(await liveItems(deploymentId, agent.instanceId)).toEqual([]);
    // A read without follow takes no lease either.
    expect((await read()).body).toMatchObject({ chunks: [], cursor: -1, ended: false, instanceStatus: 'InProgress' });
    expect(await liveItems(deploymentId, agent.instanceId)).toEqual([]);
  });
});

describe('live logs, followed', () => {
  it('a follower read takes the lease, the agent is pushed follow, its chunks come back in order by cursor', async () => {
    const { deploymentId, agent, chunk, read } = await runningInstance();
    pushes.length = 0;
    const first = await read({ follow: 'true' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ chunks: [], cursor: -1, more: false, ended: false, pollAfterMs: LIVE_LOG.pollAfterMs });
    await api.settle();
    expect(pushes).toEqual([{ instanceIds: [agent.instanceId], reason: 'follow', deploymentId }]);
    // A heartbeat tells a polling agent the same.
    const beat = await api.send('POST', '/agent/v1/poll', { body: { instanceId: agent.instanceId, heartbeat: true, deploymentId }, principal: agentPrincipal(agent.instanceId) });
    expect(beat.body.followSeconds).toBeGreaterThan(LIVE_LOG.followSeconds - 5);

    const taken = await chunk(0, '2026-12-07 18:00:00 [stdout]one\n');
    expect(taken.body).toEqual({ following: true, followSeconds: expect.any(Number) });
    expect(taken.body.followSeconds).toBeGreaterThan(0);
    await chunk(1, '2026-12-07 18:00:01 [stdout]two\n');
    // The answer to chunk 1 was lost and it comes again, with other text: the first one stays.
    expect((await chunk(1, 'replayed\n')).status).toBe(200);
    const next = await read({ follow: 'true', cursor: '-1' });
    expect(next.body.chunks.map((c: { seq: number; text: string }) => [c.seq, c.text])).toEqual([
      [0, '2026-12-07 18:00:00 [stdout]one\n'],
      [1, '2026-12-07 18:00:01 [stdout]two\n'],
    ]);
    expect(next.body.cursor).toBe(1);
    expect((await read({ follow: 'true', cursor: '1' })).body).toMatchObject({ chunks: [], cursor: 1 });
    // Both kinds of item expire: the lease with itself, chunks an hour after they were written.
    const now = Date.now() / 1000;
    for (const item of await liveItems(deploymentId, agent.instanceId)) {
      const life = String(item.SK).startsWith('LIVEFOLLOW#') ? LIVE_LOG.followSeconds : LIVE_LOG.chunkTtlSeconds;
      expect(item.expiresAt, String(item.SK)).toBeGreaterThan(now + life - 60);
      expect(item.expiresAt, String(item.SK)).toBeLessThanOrEqual(now + life + 1);
    }
    // Reads within the first half of the lease write nothing: one push for the follow so far.
    await api.settle();
    expect(pushes.filter((p) => p.reason === 'follow')).toHaveLength(1);
  });

  it('the lease lapses without reads: chunks are refused again, and a heartbeat no longer says follow', async () => {
    const { deploymentId, agent, chunk, read } = await runningInstance();
    await read({ follow: 'true' });
    expect((await chunk(0, 'a\n')).body.following).toBe(true);
    api.clock.advance(LIVE_LOG.followSeconds + 1);
    try {
      expect((await chunk(1, 'b\n')).body).toEqual({ following: false, followSeconds: 0 });
      const beat = await api.send('POST', '/agent/v1/poll', { body: { instanceId: agent.instanceId, heartbeat: true, deploymentId }, principal: agentPrincipal(agent.instanceId) });
      expect(beat.body.followSeconds).toBeUndefined();
    } finally {
      api.clock.advance(-(LIVE_LOG.followSeconds + 1));
    }
    expect((await liveItems(deploymentId, agent.instanceId)).filter((i) => String(i.SK).startsWith('LIVELOG#')).map((i) => i.text)).toEqual(['a\n']);
  });

  it('once the instance ends, the answer says ended and holds the last chunks; no more chunks are taken', async () => {
    const { deploymentId, agent, chunk, read } = await runningInstance();
    await read({ follow: 'true' });
    await chunk(0, 'last words\n');
    const done = [
      { event: 'ApplicationStop', status: 'Skipped' },
      { event: 'DownloadBundle', status: 'Succeeded' },
      { event: 'BeforeInstall', status: 'Skipped' },
      { event: 'Install', status: 'Succeeded' },
      { event: 'AfterInstall', status: 'Skipped' },
      { event: 'ApplicationStart', status: 'Skipped' },
      { event: 'ValidateService', status: 'Failed', errorCode: 'ScriptFailed', exitCode: 3 },
    ];
    expect((await api.send('POST', '/agent/v1/report', { body: { instanceId: agent.instanceId, deploymentId, done }, principal: agentPrincipal(agent.instanceId) })).status).toBe(200);
    const after = await read({ follow: 'true' });
    expect(after.body).toMatchObject({ instanceStatus: 'Failed', ended: true, cursor: 0, pollAfterMs: 0 });
    expect(after.body.chunks.map((c: { text: string }) => c.text)).toEqual(['last words\n']);
    const late = await chunk(1, 'too late\n');
    expect(late.status).toBe(409);
    expect(late.body.error.message).toMatch(new RegExp(`Instance ${agent.instanceId} is not running deployment ${deploymentId} \\(instance Failed\\)`));
  });
});

describe('live logs, hostile callers', () => {
  it("an agent cannot send chunks for another instance, nor for a deployment it is not running", async () => {
    const { deploymentId, agent, chunk, read } = await runningInstance();
    const other = await runningInstance();
    await read({ follow: 'true' });
    // Another instance's agent naming this instance: 403, nothing written.
    const forged = await chunk(0, 'forged\n', other.agent.instanceId);
    expect([forged.status, forged.body.error.code]).toEqual([403, 'ForbiddenError']);
    // Its own instance, but this instance's deployment (it is not a target of it): 404.
    const foreign = await chunk(0, 'foreign\n', other.agent.instanceId, other.agent.instanceId, deploymentId);
    expect(foreign.status).toBe(404);
    expect(await liveItems(deploymentId, agent.instanceId)).toHaveLength(1); // the lease only
  });

  it('a deployment dispatched but not picked up by the agent takes no chunk', async () => {
    const { agents, deploy } = await fleet(1);
    const { body } = await deploy();
    await api.settle();
    const agent = agents[0] as ScriptedAgent;
    await api.send('GET', `/deployments/${body.deploymentId}/instances/${agent.instanceId}/log`, { query: { follow: 'true' } });
    const early = await api.send('POST', '/agent/v1/log', { body: { instanceId: agent.instanceId, deploymentId: body.deploymentId, seq: 0, text: 'x\n' }, principal: agentPrincipal(agent.instanceId) });
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(/not picked up/);
  });

  it('chunks are bounded: too large, a number past the limit, unknown fields are refused with the path named', async () => {
    const { chunk, agent, deploymentId } = await runningInstance();
    const big = await chunk(0, 'é'.repeat(LIVE_LOG.maxChunkBytes / 2 + 1));
    expect([big.status, big.body.error.details[0].path]).toEqual([400, '$.text']);
    const far = await chunk(LIVE_LOG.maxChunks, 'x\n');
    expect([far.status, far.body.error.details[0].path]).toEqual([400, '$.seq']);
    const extra = await api.send('POST', '/agent/v1/log', {
      body: { instanceId: agent.instanceId, deploymentId, seq: 0, text: 'x', at: 'now' },
      principal: agentPrincipal(agent.instanceId),
    });
    expect(extra.status).toBe(400);
  });

  it('following needs the grant reading the log needs: a caller who may read only another group gets the 404 of a missing deployment, and no lease is taken', async () => {
    const { deploymentId, agent, read } = await runningInstance();
    const READER = 'arn:aws:sts::111122223333:assumed-role/reader/rita';
    await api.call('PUT', '/access-rules/rita-other', {
      body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/reader'], actions: ['deployments:get'], resources: ['application/elsewhere/group/*'] },
    });
    const refused = await read({ follow: 'true' }, READER);
    expect(refused.status).toBe(404);
    expect(await liveItems(deploymentId, agent.instanceId)).toEqual([]);
    const bad = await read({ cursor: 'soon' });
    expect([bad.status, bad.body.error.details[0].path]).toEqual([400, 'query.cursor']);
  });
});
