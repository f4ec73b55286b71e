/**
 * Whether an agent is there: the one rule for leases and connection records
 * (a time-limited promise lapses at its end), and what an instance shows of
 * its agent (version, last contact, online, channel).
 */

/** The agent's version, sent in every poll; the server records it per instance. */
export const AGENT_VERSION = '0.2.0';

/** Agents older than this are told so, in their log and in `fleetline instances` (MINIMUM_AGENT_VERSION overrides it). */
export const MINIMUM_AGENT_VERSION = '0.2.0';

export const AGENT_VERSION_PATTERN = /^\d{1,6}\.\d{1,6}\.\d{1,6}$/;

/**
 * True once `until` (an ISO time, or epoch seconds as DynamoDB's TTL holds
 * them) is reached: a lease, or a connection record, that has run out. An
 * absent time has not lapsed.
 */
export function lapsed(until: string | number | undefined, now: Date): boolean {
  if (until === undefined) return false;
  const ms = typeof until === 'number' ? until * 1000 : Date.parse(until);
  return ms <= now.getTime();
}

/** True when `version` is older than `minimum`; an agent that sends no version predates versions, so it is. */
export function olderThan(version: string | null | undefined, minimum: string): boolean {
  if (!version) return true;
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
}

/** What the server keeps of an agent's contacts (one small item per instance). */
export interface PresenceRecord {
  /** As the agent last sent it; null for an agent that sends none. */
  version: string | null;
  lastSeenAt: string;
}

/** The agent's open control channel, as recorded at $connect. */
export interface LiveConnection {
  connectedAt: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export const AGENT_CHANNELS = ['connected', 'polling'] as const;
export type AgentChannel = (typeof AGENT_CHANNELS)[number];

/** What `GET /instances` shows of an instance's agent. */
export interface AgentStatus {
  version: string | null;
  lastSeenAt: string | null;
  online: boolean;
  channel: AgentChannel;
  /** Set when the agent is older than the server's minimum version. */
  outdated?: { minimumVersion: string } | undefined;
}

/**
 * An agent is online while its channel is open (API Gateway ends a dead
 * host's connection within its 10-minute idle limit, and $disconnect removes
 * the record), or until a lease has passed since it last polled or reported.
 * While it works, its contacts are the leases of the work it holds (each
 * renewed at a contact, `leaseSeconds` before it ends): a heartbeat or a
 * report writes no presence record of its own.
 */
export function agentStatus(
  record: PresenceRecord | undefined,
  connection: LiveConnection | undefined,
  now: Date,
  policy: { leaseSeconds: number; minimumVersion: string },
  leaseExpiries: readonly string[] = [],
): AgentStatus {
  const open = connection !== undefined && !lapsed(connection.expiresAt, now);
  const renewals = leaseExpiries.map((end) => new Date(Date.parse(end) - policy.leaseSeconds * 1000).toISOString());
  const seen = [record?.lastSeenAt, open ? connection.connectedAt : undefined, ...renewals].filter((t): t is string => t !== undefined).sort();
  const lastSeenAt = seen.at(-1) ?? null;
  const leaseEnd = lastSeenAt ? new Date(Date.parse(lastSeenAt) + policy.leaseSeconds * 1000).toISOString() : undefined;
  const online = open || (leaseEnd !== undefined && !lapsed(leaseEnd, now));
  const known = record !== undefined || open;
  const version = record?.version ?? null;
  return {
    version,
    lastSeenAt,
    online,
    channel: open ? 'connected' : 'polling',
    ...(known && olderThan(version, policy.minimumVersion) ? { outdated: { minimumVersion: policy.minimumVersion } } : {}),
  };
}

/**
 * A presence record expires this long after its last write (the table's TTL), so
 * an instance whose agent is gone for good does not keep one forever.
 */
export const PRESENCE_TTL_DAYS = 30;

/** A connected agent's record is rewritten this often, so that it never reaches its TTL. */
export const PRESENCE_REFRESH_MS = 7 * 24 * 3600 * 1000;

/**
 * Whether a contact is worth a write: the version changed, or, for an idle
 * poll with no open channel to vouch for the agent, more than a quarter of the
 * lease has passed since the recorded one. An idle agent polling every 10 s
 * writes about once every 22 s; a connected one polling hourly writes once a
 * week (to keep its record from expiring). A poll that takes work writes
 * nothing, not even a first contact or a new version: the lease it takes is
 * the contact, and the agent's next idle poll (right after the work) records
 * the rest.
 */
export function contactIsDue(
  record: PresenceRecord | undefined,
  contact: { version: string | null; connected: boolean; working: boolean },
  now: Date,
  leaseSeconds: number,
): boolean {
  if (contact.working) return false;
  if (!record || record.version !== contact.version) return true;
  const since = now.getTime() - Date.parse(record.lastSeenAt);
  if (contact.connected) return since > PRESENCE_REFRESH_MS;
  return since > (leaseSeconds * 1000) / 4;
}
