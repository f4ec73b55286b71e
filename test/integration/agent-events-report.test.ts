import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';
import { type ScriptedAgent, agentPrincipal } from '../support/scripted-agent.js';

const api = useApi();
const { fleet, getDeployment } = useFleets(api);

/** One instance of a fresh fleet, its deployment dispatched and polled. */
async function polledInstance() {
  const { agents, deploy } = await fleet(1);
  const { body } = await deploy();
  const agent = agents[0] as ScriptedAgent;
  expect((await agent.poll()).body.assignment.deploymentId).toBe(body.deploymentId);
  const send = (report: Record<string, unknown>, instanceId = agent.instanceId) =>
    api.call('POST', '/agent/v1/report', { body: { instanceId, deploymentId: body.deploymentId, ...report }, principal: agentPrincipal(agent.instanceId) });
  const detail = async () => (await api.call('GET', `/deployments/${body.deploymentId}/instances/${agent.instanceId}`)).body;
  return { deploymentId: body.deploymentId as string, agent, send, detail };
}

const statusOf = (detail: { events: { name: string; status: string }[] }) => Object.fromEntries(detail.events.map((e) => [e.name, e.status]));

describe('an agent reporting everything since its last report in one request', () => {
  it('the server records the finished events and knows the one running now, with its deadline', async () => {
    const { send, detail } = await polledInstance();
    const opened = await send({ done: [], running: { event: 'ApplicationStop', timeoutSeconds: 30 } });
    expect(opened.body).toEqual({ action: 'continue', instanceStatus: 'InProgress', duplicate: false });
    const next = {
      done: [
        { event: 'ApplicationStop', status: 'Succeeded', exitCode: 0 },
        { event: 'DownloadBundle', status: 'Succeeded' },
      ],
      running: { event: 'BeforeInstall', startedAt: new Date().toISOString(), timeoutSeconds: 600 },
    };
    expect((await send(next)).body).toMatchObject({ instanceStatus: 'InProgress', duplicate: false });
    const shown = await detail();
    expect(statusOf(shown)).toMatchObject({ ApplicationStop: 'Succeeded', DownloadBundle: 'Succeeded', BeforeInstall: 'InProgress', Install: 'Pending' });
    const running = shown.events.find((e: { name: string }) => e.name === 'BeforeInstall');
    expect(Date.parse(running.deadline) - Date.now()).toBeGreaterThan(600_000);

    // The answer was lost and the agent sends it again: nothing changes.
    expect((await send(next)).body).toMatchObject({ instanceStatus: 'InProgress', duplicate: true });
    // Skipping ahead of the running event is out of order: the whole report is refused.
    const skipped = await send({ done: [{ event: 'Install', status: 'Succeeded' }] });
    expect(skipped.status).toBe(409);
    expect(skipped.body.error.message).toBe('BeforeInstall has not finished yet (it is InProgress)');
    expect(statusOf(await detail()).Install).toBe('Pending');
  });

  it('the final report ends the instance and the deployment; only events sent with output keep it', async () => {
    const { deploymentId, send, detail } = await polledInstance();
    const finished = await send({
      done: [
        { event: 'ApplicationStop', status: 'Skipped', message: 'no scripts for this event' },
        { event: 'DownloadBundle', status: 'Succeeded' },
        { event: 'BeforeInstall', status: 'Skipped' },
        { event: 'Install', status: 'Succeeded' },
        { event: 'AfterInstall', status: 'Skipped' },
        { event: 'ApplicationStart', status: 'Skipped' },
        { event: 'ValidateService', status: 'Succeeded', exitCode: 0, outputTail: 'healthy\n' },
      ],
    });
    expect(finished.body).toEqual({ action: 'continue', instanceStatus: 'Succeeded', duplicate: false });
    await api.settle();
    expect((await getDeployment(deploymentId)).status).toBe('Succeeded');
    const shown = await detail();
    expect(shown.events.filter((e: { outputTail?: string }) => e.outputTail).map((e: { name: string; outputTail: string }) => [e.name, e.outputTail])).toEqual([
      ['ValidateService', 'healthy\n'],
    ]);
  });

  it('lone UTF-16 surrogates in a message or output tail are stored and shown as U+FFFD, like invalid UTF-8', async () => {
    const { send, detail } = await polledInstance();
    // JSON.stringify sends each lone surrogate as a \uD8xx / \uDCxx escape, as a hostile or broken agent may.
    const res = await send({
      done: [{ event: 'ApplicationStop', status: 'Failed', exitCode: 1, message: 'bad \uD800 high, \uDFFF low, 😀 pair', outputTail: 'tail \uDBFF\n\uDC00' }],
    });
    expect(res.status).toBe(200);
    const stop = (await detail()).events.find((e: { name: string }) => e.name === 'ApplicationStop');
    expect(stop).toMatchObject({ message: 'bad \uFFFD high, \uFFFD low, 😀 pair', outputTail: 'tail \uFFFD\n\uFFFD' });
  });

  it('a failed event fails the instance and skips the rest, whatever came in the same report', async () => {
    const { send, detail } = await polledInstance();
    const failed = await send({
      done: [
        { event: 'ApplicationStop', status: 'Skipped' },
        { event: 'DownloadBundle', status: 'Failed', errorCode: 'BundleIntegrity', message: 'size 3 bytes, expected 4', outputTail: 'downloading\n' },
      ],
    });
    expect(failed.body).toMatchObject({ instanceStatus: 'Failed' });
    const shown = await detail();
    expect(shown.status).toBe('Failed');
    expect(statusOf(shown)).toMatchObject({ ApplicationStop: 'Skipped', DownloadBundle: 'Failed', BeforeInstall: 'Skipped', ValidateService: 'Skipped' });
    expect(shown.events.find((e: { name: string }) => e.name === 'DownloadBundle')).toMatchObject({ errorCode: 'BundleIntegrity', outputTail: 'downloading\n' });
  });

  it('an agent reporting on another instance is refused with 403 and changes nothing', async () => {
    const { send } = await polledInstance();
    const other = await polledInstance();
    expect((await send({ done: [{ event: 'ApplicationStop', status: 'Skipped' }] }, other.agent.instanceId)).status).toBe(403);
    expect(statusOf(await other.detail()).ApplicationStop).toBe('Pending');
  });
});
