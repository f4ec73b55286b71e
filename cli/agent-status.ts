import type { AgentStatus } from '../lib/domain/agent-presence.js';

/** A time of day as the CLI shows it (UTC, to the second). */
export const clockTime = (iso: string) => iso.slice(11, 19);

/** "0.2.0", or with the minimum it falls short of: "0.1.0 (older than 0.2.0)". */
export function agentVersionText(agent: AgentStatus | undefined): string {
  if (!agent || (agent.lastSeenAt === null && agent.version === null)) return '-';
  const version = agent.version ?? 'unknown';
  return agent.outdated ? `${version} (older than ${agent.outdated.minimumVersion})` : version;
}

/** "online (connected)", "online (polling)", "offline since 12:04:10" or "never seen". */
export function agentStateText(agent: AgentStatus | undefined): string {
  if (!agent?.lastSeenAt) return 'never seen';
  return agent.online ? `online (${agent.channel})` : `offline since ${clockTime(agent.lastSeenAt)}`;
}
