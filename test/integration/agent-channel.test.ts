import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelNotifier } from '../../lib/adapters/aws/channel-notifier.js';
import { createDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { DynamoAgentConnectionsRepository } from '../../lib/adapters/dynamodb/connections-repository.js';
import { TableClient } from '../../lib/adapters/dynamodb/table-client.js';
import { DynamoInstancesRepository } from '../../lib/adapters/dynamodb/instances-repository.js';
import { type ChannelDeps, type ChannelEvent, createChannelHandler, handleChannelEvent } from '../../lib/channel/handler.js';
import { CHANNEL_PATH, type LocalChannel, createLocalChannel } from '../../local/channel-server.js';
import { type DevServer, startDevServer } from '../../local/dev-server.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { localAgentPrincipal } from '../../local/local-fleet.js';
import { waitFor } from '../../local/ports.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';
import { crashingClient } from '../support/faulty-dynamodb.js';

let table: TestTable;
let deps: ChannelDeps;
let connections: DynamoAgentConnectionsRepository;
let server: DevServer;
let channel: LocalChannel;
let notifier: ChannelNotifier;

beforeAll(async () => {
  table = await createTestTable();
  connections = new DynamoAgentConnectionsRepository(table.table);
  deps = { instances: new DynamoInstancesRepository(table.table), connections, agentRoleNames: ['fleetline-agent'], agentAccounts: ['000000000000'], clock: { now: () => new Date() } };
  let host = '';
  channel = createLocalChannel(createChannelHandler(deps), () => host);
  server = await startDevServer(async () => ({ statusCode: 404 }), 0, channel);
  host = new URL(server.url).host;
  notifier = new ChannelNotifier(connections, server.url);
});
afterAll(async () => {
  await server?.stop();
  await table?.drop();
});

const connectEvent = (connectionId: string, principal: string | undefined, instanceId: string | undefined): ChannelEvent => ({
  requestContext: { routeKey: '$connect', connectionId, domainName: 'abc.execute-api.eu-west-1.amazonaws.com', stage: 'prod', identity: { userArn: principal ?? null } },
  queryStringParameters: instanceId === undefined ? undefined : { instanceId },
});

/** A real WebSocket client speaking for `principal` about `instanceId`; collects what is pushed to it. */
async function connect(principal: string, instanceId: string) {
  const received: unknown[] = [];
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}${CHANNEL_PATH}?instanceId=${encodeURIComponent(instanceId)}`, {
    headers: { 'x-fleetline-principal': principal },
  });
  const outcome = await new Promise<number>((resolve) => {
    ws.on('open', () => resolve(101));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
  ws.on('message', (data) => received.push(JSON.parse(data.toString())));
  return { ws, outcome, received };
}

describe('the agent control channel', () => {
  it('binds a connection to the instance whose EC2 agent session opened it, with a TTL', async () => {
    const result = await handleChannelEvent(connectEvent('c-own', localAgentPrincipal('i-0aaa'), 'i-0aaa'), deps);
    expect(result.statusCode).toBe(200);
    const [found] = await connections.find(['i-0aaa']);
    expect(found).toMatchObject({ instanceId: 'i-0aaa', connectionId: 'c-own', endpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod' });
    const item = await table.table.get({ PK: 'AGENT#i-0aaa', SK: 'CONNECTION' });
    expect(item?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 7000);
  });

  it('refuses, and records nothing, when the caller is not that instance own agent (any role, session or instance)', async () => {
    const arb = fc.record({
      account: fc.constantFrom('000000000000', '111122223333'),
      role: fc.constantFrom('fleetline-agent', 'other-role', 'fleetline-agentx'),
      session: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
      instanceId: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
      kind: fc.constantFrom('sts', 'iam'),
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(arb, async ({ account, role, session, instanceId, kind }) => {
        const principal = kind === 'sts' ? `arn:aws:sts::${account}:assumed-role/${role}/${session}` : `arn:aws:iam::${account}:user/${session}`;
        const legit = kind === 'sts' && role === 'fleetline-agent' && session === instanceId;
        fc.pre(!legit);
        const target = `h${n++}-${instanceId}`;
        const result = await handleChannelEvent(connectEvent(`c-${n}`, principal, target), deps);
        expect(result.statusCode).toBe(403);
        expect(await connections.find([target])).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('holds a registered instance to the principal bound at registration, even against an agent session named like it', async () => {
    await deps.instances.put('onprem-1', { iamArn: 'arn:aws:iam::111122223333:user/onprem-1' }, new Date().toISOString());
    expect((await handleChannelEvent(connectEvent('c-x', localAgentPrincipal('onprem-1'), 'onprem-1'), deps)).statusCode).toBe(403);
    expect((await handleChannelEvent(connectEvent('c-y', 'arn:aws:iam::111122223333:user/onprem-1', 'onprem-1'), deps)).statusCode).toBe(200);
  });

  it('refuses an unsigned upgrade and one that names no valid instance', async () => {
    expect((await handleChannelEvent(connectEvent('c-1', undefined, 'i-1'), deps)).statusCode).toBe(401);
    for (const bad of [undefined, '', 'a#b', 'x'.repeat(101), '../i-1']) {
      expect((await handleChannelEvent(connectEvent('c-2', localAgentPrincipal('i-1'), bad), deps)).statusCode).toBe(400);
    }
  });

  it('forgets a connection on $disconnect, but a late $disconnect of an older connection keeps the newer one', async () => {
    await handleChannelEvent(connectEvent('old', localAgentPrincipal('i-renew'), 'i-renew'), deps);
    await handleChannelEvent(connectEvent('new', localAgentPrincipal('i-renew'), 'i-renew'), deps);
    await handleChannelEvent({ requestContext: { routeKey: '$disconnect', connectionId: 'old', domainName: 'd', stage: 's' } }, deps);
    expect((await connections.find(['i-renew'])).map((c) => c.connectionId)).toEqual(['new']);
    expect(await table.table.get({ PK: 'CONNECTION#old', SK: 'CONNECTION' })).toBeUndefined();
    await handleChannelEvent({ requestContext: { routeKey: '$disconnect', connectionId: 'new', domainName: 'd', stage: 's' } }, deps);
    expect(await connections.find(['i-renew'])).toEqual([]);
  });

  it('a late $disconnect of an older connection attempts no write on the newer record (a refused conditional write is billed too)', async () => {
    const counting = crashingClient(Number.POSITIVE_INFINITY);
    const attempts: string[] = [];
    counting.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteItemCommand') attempts.push(String((args.input as { Key: { PK: string } }).Key.PK));
        return next(args);
      },
      { step: 'initialize', name: 'countDeleteAttempts' },
    );
    try {
      const repository = new DynamoAgentConnectionsRepository(new TableClient(createDocumentClient(counting.client), table.table.tableName));
      const counted = { ...deps, connections: repository };
      await handleChannelEvent(connectEvent('older', localAgentPrincipal('i-renewing'), 'i-renewing'), counted);
      await handleChannelEvent(connectEvent('newer', localAgentPrincipal('i-renewing'), 'i-renewing'), counted);
      await handleChannelEvent({ requestContext: { routeKey: '$disconnect', connectionId: 'older', domainName: 'd', stage: 's' } }, counted);
      expect(attempts).toEqual(['CONNECTION#older']);
      expect((await connections.find(['i-renewing'])).map((c) => c.connectionId)).toEqual(['newer']);
      await handleChannelEvent({ requestContext: { routeKey: '$disconnect', connectionId: 'newer', domainName: 'd', stage: 's' } }, counted);
      expect(attempts).toEqual(['CONNECTION#older', 'CONNECTION#newer', 'AGENT#i-renewing']);
      expect(await connections.find(['i-renewing'])).toEqual([]);
    } finally {
      counting.client.destroy();
    }
  });

  it('writes a connection by ID before by instance: a $connect that dies between the two leaves the instance its previous connection', async () => {
    await handleChannelEvent(connectEvent('before', localAgentPrincipal('i-torn'), 'i-torn'), deps);
    const dying = crashingClient(1);
    try {
      const torn = new DynamoAgentConnectionsRepository(new TableClient(createDocumentClient(dying.client), table.table.tableName));
      const result = await createChannelHandler({ ...deps, connections: torn })(connectEvent('torn', localAgentPrincipal('i-torn'), 'i-torn'), lambdaContext('channel'));
      expect(result.statusCode).toBe(500);
      expect(dying.kinds).toHaveLength(1);
    } finally {
      dying.client.destroy();
    }
    expect((await connections.find(['i-torn'])).map((c) => c.connectionId)).toEqual(['before']);
    // The one record written names its instance, so a $disconnect (were there one) or the TTL removes it.
    expect((await table.table.get({ PK: 'CONNECTION#torn', SK: 'CONNECTION' }))?.instanceId).toBe('i-torn');
  });

  it('pushes a wake-up to the instance own connection only; a foreign agent can neither bind it nor hear its pushes', async () => {
    const a = await connect(localAgentPrincipal('host-a'), 'host-a');
    expect(a.outcome).toBe(101);
    // host-a's agent tries to take host-b's channel.
    const thief = await connect(localAgentPrincipal('host-a'), 'host-b');
    expect(thief.outcome).toBe(403);
    await notifier.wake(['host-b'], 'dispatch');
    await notifier.wake(['host-a'], 'stop', 'd-ABCDEFGHI');
    await waitFor('the push to host-a', async () => a.received.length > 0, { timeoutMs: 5000, intervalMs: 20 });
    expect(a.received).toEqual([{ type: 'wake', reason: 'stop', deploymentId: 'd-ABCDEFGHI' }]);
    a.ws.close();
  });

  it('drops the record of a connection API Gateway no longer has (GoneException)', async () => {
    const [record] = await connections.find(['host-a']);
    // host-a's socket died without its $disconnect reaching the table (the function failed, say).
    await connections.put({ ...(record ?? { instanceId: 'host-gone', endpoint: server.url, principal: localAgentPrincipal('host-gone'), connectedAt: new Date().toISOString() }), instanceId: 'host-gone', connectionId: 'vanished' });
    await notifier.wake(['host-gone'], 'dispatch');
    expect(await connections.find(['host-gone'])).toEqual([]);
    expect(await table.table.get({ PK: 'CONNECTION#vanished', SK: 'CONNECTION' })).toBeUndefined();
  });

  it('when the connection a push finds is gone, an older connection of the instance still open takes over and gets the push', async () => {
    const b = await connect(localAgentPrincipal('host-gone-2'), 'host-gone-2');
    expect(b.outcome).toBe(101);
    const [record] = await connections.find(['host-gone-2']);
    // A newer connection whose socket died without its $disconnect reaching the table.
    await connections.put({ ...(record as NonNullable<typeof record>), connectionId: 'vanished-2' });
    await notifier.wake(['host-gone-2'], 'dispatch');
    await waitFor('the push to the open connection', async () => b.received.length > 0, { timeoutMs: 5000, intervalMs: 20 });
    expect((await connections.find(['host-gone-2'])).map((c) => c.connectionId)).toEqual([record?.connectionId]);
    b.ws.close();
  });
});

describe('two connections of one instance (the newest gets the pushes; when it closes, the newest still-open older one takes over)', () => {
  const ownerGone = async (connectionId: string) => (await table.table.get({ PK: `CONNECTION#${connectionId}`, SK: 'CONNECTION' })) === undefined;
  const idOf = async (instanceId: string) => (await connections.find([instanceId]))[0]?.connectionId;

  it('a second connection that closes first leaves the live one its pushes', async () => {
    const live = await connect(localAgentPrincipal('host-twice'), 'host-twice');
    expect(live.outcome).toBe(101);
    const liveId = await idOf('host-twice');
    const second = await connect(localAgentPrincipal('host-twice'), 'host-twice');
    expect(second.outcome).toBe(101);
    const secondId = await idOf('host-twice');
    expect(secondId).not.toBe(liveId);
    await notifier.wake(['host-twice'], 'dispatch');
    await waitFor('the push to the newer connection', async () => second.received.length > 0, { timeoutMs: 5000, intervalMs: 20 });
    expect(live.received).toEqual([]);

    second.ws.close();
    await waitFor('the second connection forgotten', async () => (await idOf('host-twice')) !== secondId, { timeoutMs: 5000, intervalMs: 20 });
    expect(await ownerGone(secondId as string)).toBe(true);
    expect(await idOf('host-twice')).toBe(liveId);
    await notifier.wake(['host-twice'], 'stop', 'd-ABCDEFGHI');
    await waitFor('the push to the live connection', async () => live.received.length > 0, { timeoutMs: 5000, intervalMs: 20 });
    expect(live.received).toEqual([{ type: 'wake', reason: 'stop', deploymentId: 'd-ABCDEFGHI' }]);
    live.ws.close();
    await waitFor('the live connection forgotten', async () => (await idOf('host-twice')) === undefined, { timeoutMs: 5000, intervalMs: 20 });
  });

  it('an older connection that closes first leaves the newer one its pushes (a renewal)', async () => {
    const older = await connect(localAgentPrincipal('host-renewal'), 'host-renewal');
    const olderId = await idOf('host-renewal');
    const newer = await connect(localAgentPrincipal('host-renewal'), 'host-renewal');
    const newerId = await idOf('host-renewal');
    older.ws.close();
    await waitFor('the older connection forgotten', async () => ownerGone(olderId as string), { timeoutMs: 5000, intervalMs: 20 });
    expect(await idOf('host-renewal')).toBe(newerId);
    await notifier.wake(['host-renewal'], 'dispatch');
    await waitFor('the push to the newer connection', async () => newer.received.length > 0, { timeoutMs: 5000, intervalMs: 20 });
    expect(older.received).toEqual([]);
    newer.ws.close();
    await waitFor('no connection left', async () => (await idOf('host-renewal')) === undefined, { timeoutMs: 5000, intervalMs: 20 });
  });

  it('whatever order connections open and close in, the instance record names the newest one still open, or none', async () => {
    // Each step opens a connection or closes one of the open ones; after each, the record is checked.
    const steps = fc.array(fc.oneof(fc.constant({ open: true as const }), fc.nat(7).map((pick) => ({ open: false as const, pick }))), { minLength: 1, maxLength: 12 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(steps, async (script) => {
        const instanceId = `i-order-${run++}`;
        const open: string[] = [];
        let n = 0;
        for (const step of script) {
          if (step.open) {
            const id = `${instanceId}-c${n++}`;
            expect((await handleChannelEvent(connectEvent(id, localAgentPrincipal(instanceId), instanceId), deps)).statusCode).toBe(200);
            open.push(id);
          } else if (open.length > 0) {
            const [id] = open.splice(step.pick % open.length, 1);
            await handleChannelEvent({ requestContext: { routeKey: '$disconnect', connectionId: id as string, domainName: 'd', stage: 's' } }, deps);
          }
          expect(await idOf(instanceId)).toBe(open.at(-1));
        }
      }),
      { numRuns: 25 },
    );
  });
});
