import { CONNECTION_TTL_SECONDS, EARLIER_CONNECTIONS_PRUNED_ABOVE, MAX_EARLIER_CONNECTIONS } from '../../lib/domain/agent-channel.js';
import { PRESENCE_TTL_DAYS, lapsed } from '../../lib/domain/agent-presence.js';
import type { AgentCheckIn, AgentConnection, AgentConnectionsRepository, AgentContacts, AgentPresenceRepository } from '../../lib/ports.js';
import { type FleetStore, type StoredConnection, expiry } from './state.js';
import { type Meter, Refused, clone } from './store.js';

const expired = (c: { expiresAt?: number } | undefined) => typeof c?.expiresAt === 'number' && lapsed(c.expiresAt, new Date());
const liveOf = (c: StoredConnection | undefined) => (c ? { connectedAt: c.connectedAt, expiresAt: c.expiresAt } : undefined);

export class FakeAgentPresence implements AgentPresenceRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  async checkIn(instanceId: string): Promise<AgentCheckIn> {
    await this.store.io(this.meter);
    const { assignments, presence, agentConnections } = this.store.state;
    const first = [...(assignments.get(instanceId)?.keys() ?? [])].sort()[0];
    const contact = presence.get(instanceId);
    return {
      assignment: first === undefined ? undefined : { deploymentId: first },
      presence: contact && { version: contact.version ?? null, lastSeenAt: contact.lastSeenAt },
      connection: liveOf(agentConnections.get(instanceId)),
    };
  }

  async record(instanceId: string, contact: { lastSeenAt: string; version?: string | null | undefined }): Promise<void> {
    await this.store.write(this.meter, 'agentPresence.record', (record) => {
      const found = this.store.state.presence.get(instanceId);
      // Contacts may race (a poll beside a report): the record only moves forward.
      if (found && !(found.lastSeenAt < contact.lastSeenAt)) throw new Refused(undefined);
      const next = {
        ...found,
        lastSeenAt: contact.lastSeenAt,
        expiresAt: expiry(PRESENCE_TTL_DAYS, Date.parse(contact.lastSeenAt)),
        ...(contact.version !== undefined ? { version: contact.version } : {}),
      };
      this.store.state.presence.set(instanceId, next);
      record({ type: 'AgentPresence', id: instanceId, old: found, new: next });
    });
  }

  async statuses(instanceIds: readonly string[]): Promise<Map<string, AgentContacts>> {
    await this.store.io(this.meter);
    const result = new Map<string, AgentContacts>();
    for (const id of new Set(instanceIds)) {
      const contact = this.store.state.presence.get(id);
      // The leases of the work its inbox names, acknowledged (its contacts while it works).
      const leaseExpiries = [...(this.store.state.assignments.get(id)?.keys() ?? [])]
        .map((deploymentId) => this.store.state.instanceDeployments.get(deploymentId)?.get(id))
        .flatMap((work) => (work?.acknowledgedAt && work.leaseExpiresAt ? [work.leaseExpiresAt] : []));
      result.set(id, {
        presence: contact && { version: contact.version ?? null, lastSeenAt: contact.lastSeenAt },
        connection: liveOf(this.store.state.agentConnections.get(id)),
        leaseExpiries,
      });
    }
    return result;
  }
}

export class FakeAgentConnections implements AgentConnectionsRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  private get state() {
    return this.store.state;
  }

  /** The connections of `ids` still open (their record by connection ID there, unexpired, with an endpoint), in order. */
  private open(ids: readonly string[]): StoredConnection[] {
    return ids.flatMap((id) => {
      const found = this.state.connections.get(id);
      return found && !expired(found) && typeof found.endpoint === 'string' ? [clone(found)] : [];
    });
  }

  async put(connection: AgentConnection): Promise<void> {
    const expiresAt = Math.floor(Date.parse(connection.connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
    await this.store.write(this.meter, 'connections.put byId', (record) => {
      this.state.connections.set(connection.connectionId, { ...clone(connection), expiresAt });
      record({ type: 'Connection', id: connection.connectionId, new: connection });
    }, 'idempotent');
    await this.store.write(this.meter, 'connections.put byInstance', (record) => {
      const current = this.state.agentConnections.get(connection.instanceId);
      const replaced = current && !expired(current) ? [current.connectionId, ...(current.earlier ?? [])] : [];
      let earlier = replaced.filter((id) => id !== connection.connectionId);
      if (earlier.length > EARLIER_CONNECTIONS_PRUNED_ABOVE) earlier = this.open(earlier.slice(0, MAX_EARLIER_CONNECTIONS)).map((c) => c.connectionId);
      const next: StoredConnection = { ...clone(connection), expiresAt, ...(earlier.length > 0 ? { earlier } : {}) };
      this.state.agentConnections.set(connection.instanceId, next);
      record({ type: 'AgentConnection', id: connection.instanceId, old: current, new: next });
    }, 'idempotent');
  }

  async remove(connectionId: string, instanceId?: string): Promise<void> {
    const removed = await this.store.write(this.meter, 'connections.remove byId', (record) => {
      const found = this.state.connections.get(connectionId);
      this.state.connections.delete(connectionId);
      record({ type: 'Connection', id: connectionId, old: found });
      return found;
    }, 'idempotent');
    const owner = instanceId ?? removed?.instanceId;
    if (typeof owner !== 'string') return;
    await this.store.write(this.meter, 'connections.remove byInstance', (record) => {
      const current = this.state.agentConnections.get(owner);
      if (current?.connectionId !== connectionId) throw new Refused(undefined); // a newer connection was recorded: keep it
      const [successor, ...rest] = this.open((current.earlier ?? []).filter((id) => id !== connectionId));
      if (successor) {
        const earlier = rest.map((c) => c.connectionId);
        const next: StoredConnection = { ...successor, instanceId: owner, ...(earlier.length > 0 ? { earlier } : {}) };
        if (earlier.length === 0) delete next.earlier;
        this.state.agentConnections.set(owner, next);
        record({ type: 'AgentConnection', id: owner, old: current, new: next });
      } else {
        this.state.agentConnections.delete(owner);
        record({ type: 'AgentConnection', id: owner, old: current });
      }
    });
  }

  async find(instanceIds: readonly string[]): Promise<AgentConnection[]> {
    await this.store.io(this.meter);
    // A record past its expiry is no connection (TTL deletion lags by up to days).
    return [...new Set(instanceIds)].flatMap((id) => {
      const found = this.state.agentConnections.get(id);
      if (!found || expired(found)) return [];
      return [{ instanceId: found.instanceId, connectionId: found.connectionId, endpoint: found.endpoint as string, principal: found.principal, connectedAt: found.connectedAt }];
    });
  }
}
