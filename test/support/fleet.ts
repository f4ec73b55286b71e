import { expect } from 'vitest';
import type { useApi } from './api-harness.js';
import { ScriptedAgent } from './scripted-agent.js';

type Api = ReturnType<typeof useApi>;

/** Scenario helpers: fleets of registered instances with scripted agents, over one test file's API. */
export function useFleets(api: Api) {
  let appCounter = 0;

  /** A fresh application + group targeting `size` new registered instances. */
  async function fleet(size: number, settings: Record<string, unknown> = {}) {
    const app = `app-${++appCounter}`;
    const tag = { key: 'fleet', value: app };
    await api.call('PUT', `/applications/${app}`);
    const group = await api.call('PUT', `/applications/${app}/groups/prod`, {
      body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] }, ...settings },
    });
    expect(group.status).toBe(201);
    const agents: ScriptedAgent[] = [];
    for (let i = 0; i < size; i++) {
      const instanceId = `${app}-host-${String(i).padStart(3, '0')}`;
      await api.call('PUT', `/instances/${instanceId}`, { body: { tags: [tag] } });
      agents.push(new ScriptedAgent(api.call, instanceId));
    }
    const deploy = (revisionKey = 'web/app-1.zip', extra: Record<string, unknown> = {}) =>
      api.call('POST', '/deployments', {
        body: { application: app, group: 'prod', revision: { bucket: 'fleetline-artifacts', key: revisionKey }, ...extra },
      });
    return { app, agents, deploy };
  }

  const getDeployment = async (id: string) => (await api.call('GET', `/deployments/${id}`)).body;

  /** Lets every agent with work run it, round after round, until nobody has work. */
  async function runFleet(agents: ScriptedAgent[], scripts: Record<string, Parameters<ScriptedAgent['runOnce']>[0]> = {}) {
    for (let round = 0; round < agents.length + 2; round++) {
      const ran = await Promise.all(agents.map((a) => a.runOnce(scripts[a.instanceId])));
      if (ran.every((r) => r === undefined)) return;
    }
  }

  return { fleet, getDeployment, runFleet };
}
