import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseAgentArgs } from '../../agent/cli-options.js';
import { runAgent } from '../../agent/main.js';
import { DynamoAgentConnectionsRepository } from '../../lib/adapters/dynamodb/connections-repository.js';
import { TableClient } from '../../lib/adapters/dynamodb/table-client.js';
import { AGENT_VERSION, MINIMUM_AGENT_VERSION } from '../../lib/domain/agent-presence.js';
import { useApi } from '../support/api-harness.js';
import { agentPrincipal } from '../support/scripted-agent.js';
import { useFleets } from '../support/fleet.js';
import { instanceLine } from '../../cli/progress.js';
import { checkInstallation } from '../../agent/check.js';
import { createApiHandler } from '../../lib/api/handler.js';
import { startDevServer } from '../../local/dev-server.js';

const api = useApi();
const { fleet } = useFleets(api);
const LEASE = 90;

async function registered(instanceId: string) {
  expect((await api.call('PUT', `/instances/${instanceId}`, { body: { tags: [{ key: 'role', value: 'web' }], iamArn: agentPrincipal(instanceId) } })).status).toBe(201);
}
const poll = (instanceId: string, body: Record<string, unknown> = { agentVersion: AGENT_VERSION }, principal = agentPrincipal(instanceId)) =>
  api.call('POST', '/agent/v1/poll', { body: { instanceId, ...body }, principal });
const agentOf = async (instanceId: string) => {
  const res = await api.call('GET', `/instances/${instanceId}`);
  expect(res.status).toBe(200);
  return res.body.agent;
};
/** What is recorded, read straight from the table. */
const recorded = async (instanceId: string) => (await api.deps.agentPresence.statuses([instanceId])).get(instanceId)?.presence;

describe('an instance shows its agent: version, last contact, online, channel', () => {
  it('shows a registered instance whose agent never called as never seen', async () => {
    await registered('pres-new');
    expect(await agentOf('pres-new')).toEqual({ version: null, lastSeenAt: null, online: false, channel: 'polling' });
  });

  it('records the version and the time an agent polled, shows it online and polling, and tells it the minimum version', async () => {
    await registered('pres-1');
    const answer = await poll('pres-1');
    expect(answer.status).toBe(200);
    expect(answer.body.minimumAgentVersion).toBe(MINIMUM_AGENT_VERSION);
    const at = api.clock.now().getTime();
    const agent = await agentOf('pres-1');
    expect(agent).toMatchObject({ version: AGENT_VERSION, online: true, channel: 'polling' });
    expect(agent.outdated).toBeUndefined();
    expect(Math.abs(Date.parse(agent.lastSeenAt) - at)).toBeLessThan(5_000);
    const listed = await api.call('GET', '/instances');
    expect(listed.body.items.find((i: { instanceId: string }) => i.instanceId === 'pres-1')?.agent).toEqual(agent);
  });

  it('shows the agent offline once a lease has passed since its last contact', async () => {
    await registered('pres-2');
    await poll('pres-2');
    const seen = (await agentOf('pres-2')).lastSeenAt;
    api.clock.advance(LEASE - 5);
    expect(await agentOf('pres-2')).toMatchObject({ online: true, lastSeenAt: seen });
    api.clock.advance(10);
    expect(await agentOf('pres-2')).toMatchObject({ online: false, lastSeenAt: seen });
  });

  it('writes an idle poll\'s contact only once a quarter of the lease has passed since the recorded one', async () => {
    await registered('pres-3');
    await poll('pres-3');
    const first = (await recorded('pres-3'))?.lastSeenAt;
    expect(first).toBeDefined();
    api.clock.advance(10);
    await poll('pres-3');
    expect((await recorded('pres-3'))?.lastSeenAt).toBe(first);
    api.clock.advance(15);
    await poll('pres-3');
    const third = (await recorded('pres-3'))?.lastSeenAt;
    expect(Date.parse(third!) - Date.parse(first!)).toBeGreaterThanOrEqual(25_000);
  });

  it('writes nothing for a connected agent\'s hourly poll, and shows it online and connected', async () => {
    await registered('pres-4');
    await poll('pres-4');
    const first = (await recorded('pres-4'))?.lastSeenAt;
    const connections = new DynamoAgentConnectionsRepository(new TableClient(api.table.doc, api.table.tableName));
    const connectedAt = api.clock.now().toISOString();
    await connections.put({ instanceId: 'pres-4', connectionId: 'conn-4', endpoint: 'https://example.invalid/test', principal: agentPrincipal('pres-4'), connectedAt });
    api.clock.advance(3600);
    await poll('pres-4');
    expect((await recorded('pres-4'))?.lastSeenAt).toBe(first);
    expect(await agentOf('pres-4')).toMatchObject({ online: true, channel: 'connected', lastSeenAt: connectedAt, version: AGENT_VERSION });
    // A version change is written even so.
    await poll('pres-4', { agentVersion: '99.0.0' });
    expect(await recorded('pres-4')).toMatchObject({ version: '99.0.0' });
  });

  it('marks an agent older than the server\'s minimum, and one that sends no version, as outdated', async () => {
    await registered('pres-old');
    await poll('pres-old', { agentVersion: '0.0.1' });
    expect(await agentOf('pres-old')).toMatchObject({ version: '0.0.1', outdated: { minimumVersion: MINIMUM_AGENT_VERSION } });
    await registered('pres-older');
    await poll('pres-older', {});
    expect(await agentOf('pres-older')).toMatchObject({ version: null, online: true, outdated: { minimumVersion: MINIMUM_AGENT_VERSION } });
  });

  it('lets nobody but the instance\'s own agent record a contact, and takes only a version-shaped version', async () => {
    await registered('pres-victim');
    await poll('pres-victim');
    const before = await recorded('pres-victim');
    api.clock.advance(60);
    const other = await poll('pres-victim', { agentVersion: '0.0.1' }, agentPrincipal('pres-intruder'));
    expect(other.status).toBe(403);
    for (const agentVersion of ['1.2', '1.2.3; rm -rf /', 'x'.repeat(200), 7, '1.2.3-<script>']) {
      const res = await poll('pres-victim', { agentVersion });
      expect(res.status, String(agentVersion)).toBe(400);
    }
    expect(await recorded('pres-victim')).toEqual(before);
  });
});

describe('a deployment waiting on an offline agent says so', () => {
  it('shows, for work still in progress, that its agent is offline since its last contact, or never seen', async () => {
    const { agents, deploy } = await fleet(3, { deploymentConfig: 'AllAtOnce' });
    const [gone, never, alive] = agents as [(typeof agents)[0], (typeof agents)[0], (typeof agents)[0]];
    await gone.poll();
    const lastContact = (await recorded(gone.instanceId))!.lastSeenAt;
    const { body } = await deploy();
    api.clock.advance(LEASE + 10);
    await alive.poll();
    const listed = await api.call('GET', `/deployments/${body.deploymentId}/instances`);
    const byId = new Map(listed.body.items.map((i: { instanceId: string }) => [i.instanceId, i]));
    const line = (id: string) => instanceLine(byId.get(id) as Parameters<typeof instanceLine>[0]);
    expect(byId.get(gone.instanceId)).toMatchObject({ status: 'InProgress', agent: { online: false, lastSeenAt: lastContact } });
    expect(line(gone.instanceId)).toMatch(new RegExp(`InProgress.*\\(agent offline since ${lastContact.slice(11, 19)}\\)$`));
    expect(line(never.instanceId)).toMatch(/\(agent never seen\)$/);
    expect(byId.get(alive.instanceId)).toMatchObject({ agent: { online: true } });
    expect(line(alive.instanceId)).not.toContain('agent');
  });
});

describe('an agent at work is seen through its lease', () => {
  it('writes no contact of its own for heartbeats, reports or the poll that takes the work, yet shows online, then offline since its last renewal', async () => {
    const { agents, deploy } = await fleet(1, { deploymentConfig: 'AllAtOnce' });
    const agent = agents[0]!;
    await poll(agent.instanceId);
    const idle = await recorded(agent.instanceId);
    expect(idle?.version).toBe(AGENT_VERSION);
    const { body } = await deploy();
    await api.settle();
    api.clock.advance(30);
    /** The time `act` ran at, as a range (the test clock runs on from where it was moved). */
    const during = async (act: () => Promise<void>) => {
      const from = api.clock.now().toISOString();
      await act();
      return { from, to: api.clock.now().toISOString() };
    };
    const seenIn = async ({ from, to }: { from: string; to: string }) => {
      const agentNow = await agentOf(agent.instanceId);
      expect(agentNow).toMatchObject({ online: true, version: AGENT_VERSION });
      expect(agentNow.lastSeenAt >= from && agentNow.lastSeenAt <= to, `${agentNow.lastSeenAt} in ${from}..${to}`).toBe(true);
      return agentNow.lastSeenAt as string;
    };
    const taken = await during(async () => {
      expect((await poll(agent.instanceId)).body.assignment?.deploymentId).toBe(body.deploymentId);
    });
    await seenIn(taken);
    // Past half the lease: a heartbeat renews it, and that renewal is the newest contact.
    api.clock.advance(LEASE / 2 + 5);
    await seenIn(await during(async () => {
      expect((await poll(agent.instanceId, { heartbeat: true, deploymentId: body.deploymentId, agentVersion: AGENT_VERSION })).status).toBe(200);
    }));
    // Past half the lease again: a report renews it too.
    api.clock.advance(LEASE / 2 + 5);
    const reportedAt = await seenIn(await during(async () => {
      expect((await agent.report(body.deploymentId, 'ApplicationStop', 'InProgress')).status).toBe(200);
    }));
    expect(await recorded(agent.instanceId)).toEqual(idle);
    // The agent dies mid-hook: offline a lease after the report, since the report.
    api.clock.advance(LEASE + 1);
    expect(await agentOf(agent.instanceId)).toMatchObject({ online: false, lastSeenAt: reportedAt });
    const listed = await api.call('GET', `/deployments/${body.deploymentId}/instances`);
    expect(listed.body.items[0]).toMatchObject({ status: 'InProgress', agent: { online: false, lastSeenAt: reportedAt } });
    expect(await recorded(agent.instanceId)).toEqual(idle);
  });
});

describe('fleetline-agent --check takes nothing', () => {
  it('passes its signed poll while work waits for the host, and leaves that work unacknowledged for the agent, with no contact recorded', async () => {
    const { agents, deploy } = await fleet(1, { deploymentConfig: 'AllAtOnce' });
    const agent = agents[0]!;
    await poll(agent.instanceId);
    const idle = await recorded(agent.instanceId);
    const { body } = await deploy();
    await api.settle();
    api.clock.advance(30);
    const server = await startDevServer(createApiHandler(api.deps) as never, 0);
    try {
      for (let i = 0; i < 3; i++) {
        const checked = await checkInstallation({ api: server.url, instanceId: agent.instanceId, identity: { kind: 'local', principal: agentPrincipal(agent.instanceId) } });
        expect(checked).toEqual({ ok: true, lines: expect.arrayContaining([`ok: the API accepted a signed poll for instance ${agent.instanceId}`]) });
      }
    } finally {
      await server.stop();
    }
    const waiting = await api.deps.instanceDeployments.get(body.deploymentId, agent.instanceId);
    expect(waiting).toMatchObject({ status: 'InProgress' });
    expect(waiting?.acknowledgedAt).toBeUndefined();
    expect(waiting?.leaseExpiresAt).toBeUndefined();
    expect(await recorded(agent.instanceId)).toEqual(idle);
    // The agent itself still gets the work.
    expect((await poll(agent.instanceId)).body.assignment?.deploymentId).toBe(body.deploymentId);
  });

  it('refuses a noLease poll that is not exactly true, one that is also a heartbeat, and one from another instance\'s agent', async () => {
    const { agents, deploy } = await fleet(1, { deploymentConfig: 'AllAtOnce' });
    const id = agents[0]!.instanceId;
    const { body } = await deploy();
    for (const bad of [{ noLease: false }, { noLease: 'yes' }, { noLease: true, heartbeat: true, deploymentId: body.deploymentId }]) {
      const res = await poll(id, { agentVersion: AGENT_VERSION, ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await poll(id, { noLease: true }, agentPrincipal('someone-else'))).status).toBe(403);
    expect((await api.deps.instanceDeployments.get(body.deploymentId, id))?.acknowledgedAt).toBeUndefined();
    expect(await recorded(id)).toBeUndefined();
  });
});

describe('the agent and the server\'s minimum version', () => {
  let server: Server;
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-agent-version-'));
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends its version in every poll and says in its log when the server wants a newer one', async () => {
    const polls: Record<string, unknown>[] = [];
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      polls.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ assignment: null, pollAfterSeconds: 10, minimumAgentVersion: '99.0.0' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      const options = parseAgentArgs(['run', '--once', '--api', base, '--instance-id', 'ver-1', '--principal', agentPrincipal('ver-1'), '--state-dir', join(dir, 'state')]);
      await runAgent(options, new AbortController().signal);
    } finally {
      spy.mockRestore();
    }
    expect(polls).toEqual([{ instanceId: 'ver-1', agentVersion: AGENT_VERSION }]);
    expect(lines.filter((l) => l.includes('older than the server\'s minimum agent version 99.0.0'))).toHaveLength(1);
  });
});
