import { ValidationError } from '../../lib/errors.js';
import type { Page, PageRequest } from '../../lib/ports.js';

/** What a process that died mid-way sees from then on: nothing more happens (test/fakes and the engine lab). */
export class EngineCrashed extends Error {
  constructor() {
    super('the engine crashed here');
    this.name = 'EngineCrashed';
  }
}

/**
 * One change to a record, as a stream would tell it: the record's type (the
 * table's item type names), its identity, and what it held before and after.
 */
export interface Change {
  type: string;
  id: string;
  old?: Record<string, any> | undefined;
  new?: Record<string, any> | undefined;
}

/** A write's condition did not hold: nothing was written; `result` is what the port answers then. */
export class Refused<T> {
  constructor(readonly result: T) {}
}

/**
 * One process's view of the fakes (the engine lab gives a crashing engine and a
 * healthy one each their own): it counts the writes that took effect, dies
 * right after its `crashAfter`-th, and, with a random source, loses the answers
 * of some writes the way DynamoDB's SDK sees a timeout: it sends the request
 * again, so a conditional write is refused on its replay, a transaction
 * (idempotent by its client token) answers as the first time, and an
 * unconditional write is applied again.
 */
export class Meter {
  writes = 0;
  dead = false;
  readonly kinds: string[] = [];
  /** Answers lost (the write replayed), and batch writes split as DynamoDB's unprocessed items split them. */
  readonly faults = { replays: 0, unprocessed: 0 };

  constructor(
    readonly crashAfter = Infinity,
    private readonly random?: () => number,
    private readonly rate = 0.15,
  ) {}

  /** Any call of a dead process fails. */
  alive(): void {
    if (this.dead) throw new EngineCrashed();
  }

  counted(kind: string): void {
    this.writes++;
    this.kinds.push(kind);
    if (this.writes >= this.crashAfter) {
      this.dead = true;
      throw new EngineCrashed();
    }
  }

  /** Whether this write's answer is lost (and the request sent again). */
  loses(): boolean {
    if (!this.random || this.random() >= this.rate) return false;
    this.faults.replays++;
    return true;
  }

  /** Whether a batch write leaves part of its items for a second request. */
  splits(): boolean {
    if (!this.random || this.random() >= this.rate) return false;
    this.faults.unprocessed++;
    return true;
  }
}

type Listener = (change: Change) => void;

/**
 * The records every fake shares, and the change log of every write (what the
 * engine lab hands the worker as stream records). Index-backed queries read
 * `index()`: the live records, or with `lagIndexes(true)` a copy taken when
 * the lag started or last caught up, as a GSI lags its table.
 */
export class FakeStore<S extends object = Record<string, Map<string, any>>> {
  readonly changes: Change[] = [];
  private lagged: S | undefined;
  private readonly listeners: Listener[] = [];

  constructor(readonly state: S) {}

  index(): S {
    return this.lagged ?? this.state;
  }

  /** On: index reads see the records as they are now until `catchUpIndexes`; off: they see every write at once. */
  lagIndexes(on: boolean): void {
    this.lagged = on ? structuredClone(this.state) : undefined;
  }

  catchUpIndexes(): void {
    if (this.lagged) this.lagged = structuredClone(this.state);
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  /**
   * One write request: `apply` checks its conditions first (throwing Refused
   * when one fails, having changed nothing), then changes records through
   * `record`. A refused write is not counted, as DynamoDB's are not.
   */
  async write<T>(meter: Meter, kind: string, apply: (record: (change: Change) => void) => T, replay: 'condition' | 'idempotent' = 'condition'): Promise<T> {
    await this.io(meter);
    const first = this.applyOnce(apply);
    if (first instanceof Refused) return first.result as T;
    meter.counted(kind);
    if (meter.loses()) {
      if (replay === 'idempotent') return first.value;
      const again = this.applyOnce(apply);
      return again instanceof Refused ? (again.result as T) : again.value;
    }
    return first.value;
  }

  private applyOnce<T>(apply: (record: (change: Change) => void) => T): { value: T } | Refused<unknown> {
    const pending: Change[] = [];
    try {
      const value = apply((c) => pending.push(structuredClone(c)));
      for (const change of pending) {
        this.changes.push(change);
        for (const listener of this.listeners) listener(change);
      }
      return { value };
    } catch (error) {
      if (error instanceof Refused) return error;
      throw error;
    }
  }

  /** A read (or the start of any call): a dead process cannot make it; other calls may run meanwhile. */
  async io(meter: Meter): Promise<void> {
    meter.alive();
    await Promise.resolve();
    meter.alive();
  }
}

export const clone = <T>(value: T): T => structuredClone(value);

const READ_AHEAD = 4;

const invalidToken = () =>
  new ValidationError('nextToken is not valid for this listing', [{ path: 'query.nextToken', message: 'must be a nextToken returned by this listing' }]);

/**
 * One page of a listing, as the DynamoDB adapters page (TableClient.queryPage):
 * `entries` in listing order, each with its sort key and value (undefined: gone);
 * read `limit` at a time (DynamoDB's Limit, which reports a last key whenever it
 * stopped at the limit); only what `visible` lets through, and `keep` keeps; the
 * token names the last visible entry and resumes only this partition.
 */
export function pageOf<T>(
  entries: readonly { key: string; value: T | undefined }[],
  partition: string,
  page: PageRequest<T>,
  order: 'asc' | 'desc' = 'asc',
  keep?: (value: T) => boolean,
): Page<T> {
  const tokenOf = (key: string) => Buffer.from(JSON.stringify({ p: partition, k: key }), 'utf8').toString('base64url');
  let pos = 0;
  if (page.nextToken !== undefined) {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(page.nextToken, 'base64url').toString('utf8'));
    } catch {
      throw invalidToken();
    }
    const d = decoded as { p?: unknown; k?: unknown } | null;
    if (typeof d !== 'object' || d === null || Object.keys(d).length !== 2 || d.p !== partition || typeof d.k !== 'string' || d.k.length > 1024) throw invalidToken();
    const after = d.k;
    pos = entries.findIndex((e) => (order === 'asc' ? e.key > after : e.key < after));
    if (pos < 0) pos = entries.length;
  }
  const shown: T[] = [];
  let anchor: string | undefined;
  let read = 0;
  for (;;) {
    const items = entries.slice(pos, pos + page.limit);
    pos += items.length;
    const lastKey = items.length === page.limit;
    for (const [i, entry] of items.entries()) {
      const value = entry.value;
      if (value === undefined || (page.visible && !page.visible(value))) continue;
      anchor = entry.key;
      if (keep && !keep(value)) continue;
      shown.push(value);
      if (shown.length === page.limit) {
        const more = i < items.length - 1 || lastKey;
        return { items: shown, nextToken: more ? tokenOf(entry.key) : undefined };
      }
    }
    if (!lastKey) return { items: shown };
    read += items.length;
    if (anchor !== undefined && read >= READ_AHEAD * page.limit) return { items: shown, nextToken: tokenOf(anchor) };
  }
}

export const byKey = <T extends { key: string }>(xs: T[], order: 'asc' | 'desc' = 'asc'): T[] =>
  xs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) * (order === 'asc' ? 1 : -1));

export function chunksOf<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
