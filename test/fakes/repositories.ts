import { FakeAgentConnections, FakeAgentPresence } from './agents.js';
import { FakeAccessRules, FakeApplications, FakeCredentialAudit, FakeDeploymentGroups, FakeInstances, FakePipelines } from './catalog.js';
import { FakeDeployments } from './deployments.js';
import { FakeExecutions } from './executions.js';
import { FakeInstanceDeployments } from './instance-deployments.js';
import { FakeLiveLogs } from './live-logs.js';
import type { FleetStore } from './state.js';
import { Meter } from './store.js';

/** Every table port over the fleet's records, as one process (`meter`) sees them. */
export function fakeRepositories(store: FleetStore, meter: Meter = new Meter()) {
  return {
    applications: new FakeApplications(store, meter),
    groups: new FakeDeploymentGroups(store, meter),
    instances: new FakeInstances(store, meter),
    deployments: new FakeDeployments(store, meter),
    instanceDeployments: new FakeInstanceDeployments(store, meter),
    agentPresence: new FakeAgentPresence(store, meter),
    connections: new FakeAgentConnections(store, meter),
    pipelines: new FakePipelines(store, meter),
    executions: new FakeExecutions(store, meter),
    accessRules: new FakeAccessRules(store, meter),
    audit: new FakeCredentialAudit(store, meter),
    liveLogs: new FakeLiveLogs(store, meter),
  };
}
