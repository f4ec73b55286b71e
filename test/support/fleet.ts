import { expect } from 'vitest';
import type { useApi } from './api-harness.js';
import { putBundle } from './bundles.js';
import { ScriptedAgent } from './scripted-agent.js';

type Api = ReturnType<typeof useApi>;
const FLEET_BUCKET = 'fleetline-test-artifacts';

/** Scenario helpers: fleets of registered instances with scripted agents, over one test file's API. */
export function useFleets(api: Api) {
  let appCounter = 0;
  const uploaded = new Set<string>();

  /** Deployments check their revision: the bundle must exist and hold a valid appspec.yml. */
  async function upload(key: string) {
    if (uploaded.has(key)) return;
    await putBundle(api.s3, FLEET_BUCKET, key);
    uploaded.add(key);
  }

  /** A fresh application + group targeting `size` new registered instances. */
  async function fleet(size: number, settings: Record<string, unknown> = {}) {
    const app = `app-${++appCounter}`;
    const tag = { key: 'fleet', value: app };
    await api.call('PUT', `/applications/${app}`, { body: { revisionSources: [{ bucket: FLEET_BUCKET, prefix: 'web/' }] } });
    const group = await api.call('PUT', `/applications/${app}/groups/prod`, {
      body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] }, ...settings },
    });
    expect(group.status).toBe(201);
    const agents: ScriptedAgent[] = [];
    for (let i = 0; i < size; i++) {
      const instanceId = `${app}-host-${String(i).padStart(3, '0')}`;
      await api.call('PUT', `/instances/${instanceId}`, { body: { tags: [tag] } });
      agents.push(new ScriptedAgent(api.send, instanceId, api.settle));
    }
    const deploy = async (revisionKey = 'web/app-1.zip', extra: Record<string, unknown> = {}) => {
      await upload(revisionKey);
      return api.call('POST', '/deployments', {
        body: { application: app, group: 'prod', revision: { bucket: FLEET_BUCKET, key: revisionKey }, ...extra },
      });
    };
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
