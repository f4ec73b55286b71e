import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';
import { agentPrincipal } from '../support/scripted-agent.js';

const api = useApi();
const sts = mockClient(STSClient);
afterEach(() => sts.reset());

const BUCKET = 'fleetline-test-artifacts';
const HOOK_ROLE = 'arn:aws:iam::111122223333:role/fleetline/refused-hooks';
const API_SESSION = 'arn:aws:sts::999988887777:assumed-role/fleetline-api-prod/fleetline-api-prod-api';

/** An STS refusal as the SDK throws it. */
function stsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: name === 'Throttling' ? 400 : 403 } });
}

let counter = 0;

/** A host in two groups: one whose hooks act with `hookRoleArn`, one without. */
async function hostInTwoGroups() {
  const n = ++counter;
  const instanceId = `hook-host-${n}`;
  const tag = { key: `two-groups-${n}`, value: 'yes' };
  await api.call('PUT', `/applications/hooked-${n}`, { body: { revisionSources: [{ bucket: BUCKET, prefix: 'hooked/' }] } });
  const target = { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] };
  expect((await api.call('PUT', `/applications/hooked-${n}/groups/roled`, { body: { targets: target, hookRoleArn: HOOK_ROLE } })).status).toBe(201);
  expect((await api.call('PUT', `/applications/hooked-${n}/groups/plain`, { body: { targets: target } })).status).toBe(201);
  await api.call('PUT', `/instances/${instanceId}`, { body: { tags: [tag] } });
  const deploy = async (group: string) => {
    const res = await api.call('POST', '/deployments', { body: { application: `hooked-${n}`, group, revision: { bucket: BUCKET, key: 'hooked/h.zip' } } });
    expect(res.status).toBe(201);
    return res.body.deploymentId as string;
  };
  const poll = async () => {
    await api.settle();
    return api.send('POST', '/agent/v1/poll', { body: { instanceId }, principal: agentPrincipal(instanceId) });
  };
  return { instanceId, deploy, poll };
}

beforeAll(async () => {
  await putBundle(api.s3, BUCKET, 'hooked/h.zip');
});

describe('hook credentials STS will not issue', () => {
  it('fails that instance naming the role and STS answer, gives it no lease, and the same poll answers with the other group work', async () => {
    sts.on(AssumeRoleCommand).rejects(stsError('AccessDenied', `User: ${API_SESSION} is not authorized to perform: sts:AssumeRole on resource: ${HOOK_ROLE}`));
    // A host's work is handed out in deployment ID order, and IDs are random: a new host until the refused one comes first.
    let host: Awaited<ReturnType<typeof hostInTwoGroups>>;
    let refused: string;
    let other: string;
    do {
      host = await hostInTwoGroups();
      refused = await host.deploy('roled');
      other = await host.deploy('plain');
    } while (refused > other && counter < 40);
    expect(refused < other).toBe(true);

    const polled = await host.poll();
    expect(polled.status).toBe(200);
    expect(polled.body.assignment.deploymentId).toBe(other);
    expect(polled.body.assignment.hookCredentials).toBeUndefined();
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual([HOOK_ROLE]);

    const failed = await api.deps.instanceDeployments.get(refused, host.instanceId);
    expect(failed?.status).toBe('Failed');
    expect(failed?.acknowledgedAt).toBeUndefined();
    expect(failed?.leaseExpiresAt).toBeUndefined();
    const events = failed?.events ?? [];
    const [first, ...others] = events.filter((e) => e.status === 'Failed');
    expect(others).toEqual([]);
    expect(events.filter((e) => e.status !== 'Failed').every((e) => e.status === 'Skipped')).toBe(true);
    expect(first).toMatchObject({ status: 'Failed', errorCode: 'UnknownError' });
    expect(first?.message).toContain(HOOK_ROLE);
    expect(first?.message).toContain('STS answered AccessDenied: User: ');
    expect(first?.message).toContain('is not authorized to perform: sts:AssumeRole');
    // Fleetline's own role session is not shown to whoever reads the deployment.
    expect(first?.message).not.toContain('fleetline-api-prod');

    const shown = await api.call('GET', `/deployments/${refused}`);
    expect(shown.body.status).toBe('Failed');
    const detail = await api.call('GET', `/deployments/${refused}/instances/${host.instanceId}`);
    expect(JSON.stringify(detail.body)).toContain(HOOK_ROLE);
  }, 120_000);

  it('answers idle when the refused deployment was the only work, and fails it once', async () => {
    const host = await hostInTwoGroups();
    sts.on(AssumeRoleCommand).rejects(stsError('AccessDenied', 'denied'));
    const refused = await host.deploy('roled');
    const polled = await host.poll();
    expect(polled.status).toBe(200);
    expect(polled.body.assignment).toBeNull();
    const again = await host.poll();
    expect(again.body.assignment).toBeNull();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect((await api.call('GET', `/deployments/${refused}`)).body.status).toBe('Failed');
  });

  it('writes nothing while STS throttles (a retryable answer), and a stop then frees the host at once', async () => {
    const host = await hostInTwoGroups();
    sts.on(AssumeRoleCommand).rejects(stsError('Throttling', 'Rate exceeded'));
    const stuck = await host.deploy('roled');
    const polled = await host.poll();
    expect(polled.status).toBe(429);
    const waiting = await api.deps.instanceDeployments.get(stuck, host.instanceId);
    expect(waiting).toMatchObject({ status: 'InProgress' });
    expect(waiting?.acknowledgedAt).toBeUndefined();
    expect(waiting?.leaseExpiresAt).toBeUndefined();

    expect((await api.call('POST', `/deployments/${stuck}/stop`, { body: {} })).status).toBeLessThan(300);
    await api.settle();
    expect((await api.deps.instanceDeployments.get(stuck, host.instanceId))?.status).toBe('Skipped');
    expect((await api.call('GET', `/deployments/${stuck}`)).body.status).toBe('Stopped');

    const other = await host.deploy('plain');
    const next = await host.poll();
    expect(next.status).toBe(200);
    expect(next.body.assignment.deploymentId).toBe(other);
  });

  it('asks STS nothing for a stopped deployment the agent still has to hear of', async () => {
    const host = await hostInTwoGroups();
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAHOOK', SecretAccessKey: 'hook-secret', SessionToken: 'hook-token', Expiration: new Date('2026-11-22T13:00:00Z') },
    });
    const id = await host.deploy('roled');
    const first = await host.poll();
    expect(first.body.assignment.hookCredentials.accessKeyId).toBe('ASIAHOOK');
    await api.call('POST', `/deployments/${id}/stop`, { body: {} });
    const after = await host.poll();
    expect(after.body.action).toBe('stop');
    expect(after.body.assignment.hookCredentials).toBeUndefined();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });
});
