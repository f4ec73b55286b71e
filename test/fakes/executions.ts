import { boundExecution } from '../../lib/domain/execution-size.js';
import type { Execution } from '../../lib/domain/pipeline.js';
import { ConflictError, ItemTooLargeError } from '../../lib/errors.js';
import type { ExecutionsRepository, Page, PageRequest } from '../../lib/ports.js';
import { type FleetStore, expiry } from './state.js';
import { type Change, type Meter, Refused, byKey, clone, pageOf } from './store.js';

const SEQUENCER_WIDTH = 40;
const TTL_DAYS = { objectSequencer: 30, groupWaiter: 14 };
/** DynamoDB's item size limit, which a bounded execution stays under (measured as its JSON, close to DynamoDB's own count). */
const ITEM_LIMIT = 400 * 1024;

function stored(ex: Execution): Execution {
  const bounded = boundExecution(clone(ex));
  if (Buffer.byteLength(JSON.stringify(bounded)) > ITEM_LIMIT) {
    throw new ItemTooLargeError(
      `The execution does not fit in one DynamoDB item (400 KB): pipeline "${ex.pipeline}" is larger than Fleetline allows; save it again to have it checked against the limits`,
    );
  }
  return bounded;
}

export class FakeExecutions implements ExecutionsRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  private get state() {
    return this.store.state;
  }

  private slot(record: (c: Change) => void, pipeline: string, stage: number, holder: string | undefined): void {
    const key = `${pipeline}/${stage}`;
    const before = this.state.stageSlots.get(key);
    if (holder === undefined) this.state.stageSlots.delete(key);
    else this.state.stageSlots.set(key, holder);
    record({ type: 'StageSlot', id: key, old: { holder: before }, new: { holder } });
  }

  async create(ex: Execution): Promise<boolean> {
    const item = stored(ex);
    return this.store.write(this.meter, 'executions.create', (record) => {
      if (this.state.executions.has(ex.executionId)) throw new Refused(false);
      this.state.executions.set(ex.executionId, item);
      this.state.activeExecutions.set(ex.executionId, ex.pipeline);
      record({ type: 'Execution', id: ex.executionId, new: item });
      return true;
    }, 'idempotent');
  }

  async recordFailedStart(ex: Execution): Promise<boolean> {
    const item = stored(ex);
    return this.store.write(this.meter, 'executions.recordFailedStart', (record) => {
      if (this.state.executions.has(ex.executionId)) throw new Refused(false);
      this.state.executions.set(ex.executionId, item);
      record({ type: 'Execution', id: ex.executionId, new: item });
      return true;
    });
  }

  async get(executionId: string): Promise<Execution | undefined> {
    await this.store.io(this.meter);
    return clone(this.state.executions.get(executionId));
  }

  async listByPipeline(pipeline: string, page: PageRequest): Promise<Page<Execution>> {
    await this.store.io(this.meter);
    const entries = byKey(
      [...this.store.index().executions.values()].filter((e) => e.pipeline === pipeline).map((e) => ({ key: `${e.createdAt}#${e.executionId}`, value: clone(e) })),
      'desc',
    );
    return pageOf(entries, `EXECUTIONS#${pipeline}`, page as PageRequest<Execution>, 'desc');
  }

  async save(ex: Execution, options: { leaveStage?: number; notHolding?: number } = {}): Promise<Execution> {
    const next = { ...ex, version: ex.version + 1 };
    const item = stored(next);
    const transaction = ex.status !== 'InProgress' || options.leaveStage !== undefined || options.notHolding !== undefined;
    await this.store.write(this.meter, 'executions.save', (record) => {
      const before = this.state.executions.get(ex.executionId);
      const slot = (stage: number) => this.state.stageSlots.get(`${ex.pipeline}/${stage}`);
      const refused =
        !before ||
        before.version !== ex.version ||
        (options.leaveStage !== undefined && slot(options.leaveStage) !== undefined && slot(options.leaveStage) !== ex.executionId) ||
        (options.notHolding !== undefined && slot(options.notHolding) === ex.executionId);
      if (refused) throw new ConflictError(`Execution ${ex.executionId} changed concurrently`);
      this.state.executions.set(ex.executionId, item);
      record({ type: 'Execution', id: ex.executionId, old: before, new: item });
      if (ex.status !== 'InProgress' && this.state.activeExecutions.delete(ex.executionId)) {
        record({ type: 'ActiveExecution', id: ex.executionId, old: { pipeline: ex.pipeline } });
      }
      if (options.leaveStage !== undefined) this.slot(record, ex.pipeline, options.leaveStage, undefined);
    }, transaction ? 'idempotent' : 'condition');
    return next;
  }

  async waiting(pipeline: string, stageIndex: number): Promise<string[]> {
    await this.store.io(this.meter);
    const waiting = [...this.store.index().executions.values()].filter((e) => e.pipeline === pipeline && e.status === 'InProgress' && e.waiting && e.stageIndex === stageIndex);
    return byKey(waiting.map((e) => ({ key: `${e.createdAt}#${e.executionId}`, id: e.executionId }))).map((e) => e.id);
  }

  async acquireStage(pipeline: string, stageIndex: number, executionId: string): Promise<boolean> {
    return this.store.write(this.meter, 'executions.acquireStage', (record) => {
      const holder = this.state.stageSlots.get(`${pipeline}/${stageIndex}`);
      if (holder !== undefined && holder !== executionId) throw new Refused(false);
      this.slot(record, pipeline, stageIndex, executionId);
      return true;
    });
  }

  async releaseStage(pipeline: string, stageIndex: number, executionId: string): Promise<void> {
    await this.store.write(this.meter, 'executions.releaseStage', (record) => {
      if (this.state.stageSlots.get(`${pipeline}/${stageIndex}`) !== executionId) throw new Refused(undefined); // not ours (any more)
      this.slot(record, pipeline, stageIndex, undefined);
    });
  }

  async listActive(): Promise<{ executionId: string; pipeline: string }[]> {
    await this.store.io(this.meter);
    return [...this.state.activeExecutions.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([executionId, pipeline]) => ({ executionId, pipeline }));
  }

  async markActive(executionId: string, pipeline: string): Promise<void> {
    await this.store.write(this.meter, 'executions.markActive', (record) => {
      this.state.activeExecutions.set(executionId, pipeline);
      record({ type: 'ActiveExecution', id: executionId, new: { pipeline } });
    }, 'idempotent');
  }

  async addGroupWaiter(application: string, group: string, executionId: string): Promise<void> {
    await this.store.write(this.meter, 'executions.addGroupWaiter', (record) => {
      const key = `${application}/${group}`;
      const waiters = this.state.groupWaiters.get(key) ?? new Map<string, number>();
      waiters.set(executionId, expiry(TTL_DAYS.groupWaiter));
      this.state.groupWaiters.set(key, waiters);
      record({ type: 'GroupWaiter', id: `${key}/${executionId}`, new: { executionId } });
    }, 'idempotent');
  }

  async takeGroupWaiters(application: string, group: string): Promise<string[]> {
    await this.store.io(this.meter);
    const key = `${application}/${group}`;
    const ids = [...(this.state.groupWaiters.get(key)?.keys() ?? [])].sort();
    for (const id of ids) {
      await this.store.write(this.meter, 'executions.takeGroupWaiter', (record) => {
        const waiters = this.state.groupWaiters.get(key);
        const had = waiters?.delete(id);
        if (waiters?.size === 0) this.state.groupWaiters.delete(key);
        record({ type: 'GroupWaiter', id: `${key}/${id}`, old: had ? { executionId: id } : undefined });
      }, 'idempotent');
    }
    return ids;
  }

  async recordSequencer(bucket: string, key: string, sequencer: string): Promise<boolean> {
    const padded = sequencer.toUpperCase().padStart(SEQUENCER_WIDTH, '0');
    return this.store.write(this.meter, 'executions.recordSequencer', (record) => {
      const found = this.state.sequencers.get(`${bucket}/${key}`);
      if (found && found.latest > padded) throw new Refused(false);
      this.state.sequencers.set(`${bucket}/${key}`, { latest: padded, expiresAt: expiry(TTL_DAYS.objectSequencer) });
      record({ type: 'ObjectSequencer', id: `${bucket}/${key}`, old: found, new: { latest: padded } });
      return true;
    });
  }
}
