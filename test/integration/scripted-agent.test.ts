import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';
import type { ScriptedAgent } from '../support/scripted-agent.js';

const api = useApi();
const { fleet, getDeployment } = useFleets(api);

const eventsOf = (report: { done: { event: string; status: string }[]; running?: { event: string } }) => ({
  done: report.done.map((d) => `${d.event} ${d.status}`),
  running: report.running?.event,
});

/** The benches' stand-in agent must cost the server what the real agent does: the same reports, batched the same way. */
describe('a scripted agent reporting as the real agent does', () => {
  it('a no-op bundle: one report with every event, the last one run carrying the output', async () => {
    const { agents, deploy } = await fleet(1, { deploymentConfig: 'AllAtOnce' });
    const { body } = await deploy();
    const agent = agents[0] as ScriptedAgent;
    expect(await agent.runBatched()).toBe(body.deploymentId);
    expect(agent.sent.map(eventsOf)).toEqual([
      {
        done: [
          'ApplicationStop Skipped', 'DownloadBundle Succeeded', 'BeforeInstall Skipped', 'Install Succeeded',
          'AfterInstall Skipped', 'ApplicationStart Skipped', 'ValidateService Skipped',
        ],
        running: undefined,
      },
    ]);
    expect(agent.sent[0]?.done.find((d) => d.outputTail)?.event).toBe('Install');
    expect(await getDeployment(body.deploymentId)).toMatchObject({ status: 'Succeeded' });
  });

  it('scripted hooks: one report per hook that starts, the events without work riding along, then the final one', async () => {
    const { agents, deploy } = await fleet(1, { deploymentConfig: 'AllAtOnce' });
    const { body } = await deploy();
    const agent = agents[0] as ScriptedAgent;
    await agent.runBatched(['BeforeInstall', 'ValidateService']);
    expect(agent.sent.map(eventsOf)).toEqual([
      { done: ['ApplicationStop Skipped', 'DownloadBundle Succeeded'], running: 'BeforeInstall' },
      { done: ['BeforeInstall Succeeded', 'Install Succeeded', 'AfterInstall Skipped', 'ApplicationStart Skipped'], running: 'ValidateService' },
      { done: ['ValidateService Succeeded'], running: undefined },
    ]);
    expect(await getDeployment(body.deploymentId)).toMatchObject({ status: 'Succeeded' });
    expect(await agent.runBatched()).toBeUndefined(); // nothing left to run
  });
});
