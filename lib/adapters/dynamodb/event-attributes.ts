import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { type EventRecord, initialEvents } from '../../domain/deployment.js';
import { type InstanceStatus, FINISHED_INSTANCE_STATUSES } from '../../domain/lifecycle.js';

/**
 * How an instance deployment's lifecycle events are stored: one small map per
 * event that has moved (`ev_<event>`), written with its own SET, never the
 * whole list. Times are epoch milliseconds. What is not stored is derived:
 * load-balancer events are always Skipped, an event never reported is Pending,
 * or Skipped once the instance has ended. A full instance item stays under
 * 1 KB, so each of its writes costs one write unit (two in a transaction).
 * Items written before this encoding keep their `events` list; stored event
 * attributes win over it.
 */
export const EVENT_ATTRIBUTE_PREFIX = 'ev_';
const LEGACY_EVENTS = 'events';

interface StoredEvent {
  /** status */
  s: EventRecord['status'];
  /** startedAt, endedAt, deadline (epoch ms) */
  b?: number;
  e?: number;
  d?: number;
  /** exitCode, errorCode, message */
  x?: number;
  c?: NonNullable<EventRecord['errorCode']>;
  m?: string;
}

type Item = Record<string, NativeAttributeValue>;

const millis = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function encode(event: EventRecord): StoredEvent {
  const stored: StoredEvent = { s: event.status };
  const fields: [keyof StoredEvent, unknown][] = [
    ['b', millis(event.startedAt)],
    ['e', millis(event.endedAt)],
    ['d', millis(event.deadline)],
    ['x', event.exitCode ?? undefined],
    ['c', event.errorCode],
    ['m', event.message],
  ];
  for (const [key, value] of fields) if (value !== undefined && !Number.isNaN(value)) Object.assign(stored, { [key]: value });
  return stored;
}

function decode(name: string, stored: StoredEvent): EventRecord {
  const event: EventRecord = { name, status: stored.s };
  const fields: [keyof EventRecord, unknown][] = [
    ['startedAt', iso(stored.b)],
    ['endedAt', iso(stored.e)],
    ['deadline', iso(stored.d)],
    ['exitCode', stored.x],
    ['errorCode', stored.c],
    ['message', stored.m],
  ];
  for (const [key, value] of fields) if (value !== undefined) Object.assign(event, { [key]: value });
  return event;
}

const ended = (status: InstanceStatus) => FINISHED_INSTANCE_STATUSES.includes(status);

/** The events of a stored instance item, in lifecycle order. */
export function eventsOf(item: Item): EventRecord[] {
  const base: EventRecord[] = Array.isArray(item[LEGACY_EVENTS]) ? (item[LEGACY_EVENTS] as EventRecord[]) : initialEvents();
  const done = ended(item.status as InstanceStatus);
  return base.map((event) => {
    const stored = item[EVENT_ATTRIBUTE_PREFIX + event.name] as StoredEvent | undefined;
    if (stored) return decode(event.name, stored);
    return done && event.status === 'Pending' ? { ...event, status: 'Skipped' } : event;
  });
}

/** The item without its stored event attributes (the domain object carries `events` instead). */
export function withoutEventAttributes(item: Item): Item {
  return Object.fromEntries(Object.entries(item).filter(([key]) => key !== LEGACY_EVENTS && !key.startsWith(EVENT_ATTRIBUTE_PREFIX)));
}

/**
 * The event attributes to SET for going from `before` to `after`: only events
 * that changed, and not those the read derives anyway (an event that was
 * Pending and is now plainly Skipped, once the instance ends).
 */
export function changedEventAttributes(before: EventRecord[], after: EventRecord[], ending: boolean): Record<string, StoredEvent> {
  const previous = new Map(before.map((e) => [e.name, JSON.stringify(encode(e))]));
  const changed: Record<string, StoredEvent> = {};
  for (const event of after) {
    const stored = encode(event);
    if (previous.get(event.name) === JSON.stringify(stored)) continue;
    const derived = ending && event.status === 'Skipped' && Object.keys(stored).length === 1 && before.find((e) => e.name === event.name)?.status === 'Pending';
    if (!derived) changed[EVENT_ATTRIBUTE_PREFIX + event.name] = stored;
  }
  return changed;
}
