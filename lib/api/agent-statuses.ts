import { type AgentStatus, agentStatus } from '../domain/agent-presence.js';
import type { ApiDeps } from './deps.js';

/** What each instance's agent last told the server: version, last contact (its idle polls' record, or the leases of the work it holds), online, channel. */
export async function agentStatuses(instanceIds: readonly string[], deps: ApiDeps): Promise<Map<string, AgentStatus>> {
  if (instanceIds.length === 0) return new Map();
  const known = await deps.agentPresence.statuses(instanceIds);
  const now = deps.clock.now();
  const policy = { leaseSeconds: deps.timings.leaseSeconds, minimumVersion: deps.minimumAgentVersion };
  return new Map(instanceIds.map((id) => [id, agentStatus(known.get(id)?.presence, known.get(id)?.connection, now, policy, known.get(id)?.leaseExpiries)]));
}
