import type { FleetlineApi } from './api.js';
import { UsageError } from './api.js';
import type { FleetEvent } from '../lib/domain/state-events.js';
import type { OutputFormat } from './output.js';

/** How often --follow asks for what is new. */
const FOLLOW_INTERVAL_MS = 2000;
/**
 * How far back each --follow request reaches before the newest event it has seen: an event
 * is filed under the second its change was recorded, and may reach the feed a little later
 * than others of that second. What it has already printed it does not print again.
 */
const FOLLOW_OVERLAP_MS = 60_000;

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** --since: an ISO time, or a duration back from now (90s, 10m, 2h, 1d). */
export function sinceTime(since: string, now: number = Date.now()): string {
  const m = DURATION.exec(since);
  if (m) return new Date(now - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]).toISOString();
  const at = Date.parse(since);
  if (!/^\d{4}-\d\d-\d\d/.test(since) || Number.isNaN(at)) {
    throw new UsageError(`--since must be an ISO time (2026-06-30T22:06:31Z) or a duration such as 90s, 10m, 2h or 1d, not "${since}"`);
  }
  return new Date(at).toISOString();
}

/** One event on one line: time, what changed, its new state, and which. */
export function eventLine(event: Pick<FleetEvent, 'time' | 'source' | 'detail-type' | 'detail'>): string {
  const d: Partial<Record<string, unknown>> = { ...event.detail };
  const what = String(event['detail-type'] ?? '')
    .replace(/^CodeDeploy (\w+) State-change Notification$/, '$1')
    .replace(/^CodePipeline (\w+)( Execution)? State Change$/, '$1');
  const subject = event.source === 'aws.codedeploy'
    ? [d.deploymentId, `${d.application}/${d.deploymentGroup}`, d.instanceId]
    : [d['execution-id'], d.pipeline, d.stage, d.action];
  return [event.time, what.padEnd(10), String(d.state ?? '').padEnd(10), subject.filter(Boolean).join(' ')].join('  ');
}

function write(format: OutputFormat, event: FleetEvent): void {
  console.log(format === 'json' ? JSON.stringify(event) : eventLine(event));
}

export interface EventsOptions {
  since?: string | undefined;
  type?: string | undefined;
  app?: string | undefined;
  follow?: boolean | undefined;
}

/** Waits, or less when `stop` comes first. */
function pause(ms: number, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    stop?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * Prints the feed (one event a line; with -o json one JSON event a line), then, with
 * --follow, what comes after, until `stop` (Ctrl-C), which is its normal end.
 */
export async function printEvents(api: FleetlineApi, format: OutputFormat, o: EventsOptions, stop?: AbortSignal): Promise<void> {
  const query = { type: o.type, application: o.app };
  let since = o.since === undefined ? undefined : sinceTime(o.since);
  const seen = new Map<string, string>();
  for (;;) {
    const events = await api.all('listEvents', { ...query, since });
    for (const event of events) {
      if (seen.has(event.id)) continue;
      seen.set(event.id, event.time);
      write(format, event);
    }
    if (!o.follow || stop?.aborted) return;
    const newest = [...seen.values()].reduce((a, b) => (a > b ? a : b), since ?? new Date(Date.now() - FOLLOW_OVERLAP_MS).toISOString());
    since = new Date(Date.parse(newest) - FOLLOW_OVERLAP_MS).toISOString();
    // Forget what the next requests cannot return again.
    for (const [id, time] of seen) if (time < since) seen.delete(id);
    await pause(FOLLOW_INTERVAL_MS, stop);
    if (stop?.aborted) return;
  }
}
