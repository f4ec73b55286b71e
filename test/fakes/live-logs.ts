import { LIVE_LOG, type LiveChunk } from '../../lib/domain/live-log.js';
import type { LiveLogRepository } from '../../lib/ports.js';
import type { FleetStore } from './state.js';
import { type Meter, Refused } from './store.js';

const key = (deploymentId: string, instanceId: string) => `${deploymentId}/${instanceId}`;

/** Follower leases and live log chunks (lib/adapters/dynamodb/live-log-repository.ts), in memory. */
export class FakeLiveLogs implements LiveLogRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  async followUntil(deploymentId: string, instanceId: string): Promise<string | undefined> {
    await this.store.io(this.meter);
    return this.store.state.liveFollows.get(key(deploymentId, instanceId));
  }

  async follow(deploymentId: string, instanceId: string, until: string): Promise<void> {
    await this.store.write(this.meter, 'liveLogs.follow', (record) => {
      const old = this.store.state.liveFollows.get(key(deploymentId, instanceId));
      this.store.state.liveFollows.set(key(deploymentId, instanceId), until);
      record({ type: 'LiveLogFollow', id: key(deploymentId, instanceId), old: old === undefined ? undefined : { until: old }, new: { until } });
    });
  }

  async append(deploymentId: string, instanceId: string, chunk: LiveChunk): Promise<void> {
    await this.store.write(this.meter, 'liveLogs.append', (record) => {
      const chunks = this.store.state.liveChunks.get(key(deploymentId, instanceId)) ?? new Map<number, LiveChunk>();
      // A repeat keeps what was first written.
      if (chunks.has(chunk.seq)) throw new Refused(undefined);
      chunks.set(chunk.seq, { ...chunk });
      this.store.state.liveChunks.set(key(deploymentId, instanceId), chunks);
      record({ type: 'LiveLogChunk', id: `${key(deploymentId, instanceId)}#${chunk.seq}`, old: undefined, new: chunk });
    });
  }

  async after(deploymentId: string, instanceId: string, cursor: number, limit: number): Promise<{ chunks: LiveChunk[]; more: boolean }> {
    await this.store.io(this.meter);
    const kept = [...(this.store.state.liveChunks.get(key(deploymentId, instanceId))?.values() ?? [])]
      .filter((c) => c.seq > cursor && c.seq < LIVE_LOG.maxChunks)
      .sort((a, b) => a.seq - b.seq);
    return { chunks: kept.slice(0, limit).map((c) => ({ ...c })), more: kept.length > limit };
  }
}
