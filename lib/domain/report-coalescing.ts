import type { EventsReport } from './agent-report.js';

const isEventsReport = (body: unknown): body is EventsReport =>
  typeof body === 'object' && body !== null && Array.isArray((body as { done?: unknown }).done);

/**
 * Reports queued one after another for the same assignment, as one report that
 * says the same thing: every event they finish, in order, and the event the
 * last of them starts. An agent whose hooks end faster than a round trip sends
 * what piled up behind the report in flight as one request (one write on the
 * server) instead of one each.
 *
 * Joins the leading reports for as long as the result stays exact, and stops
 * at the first that cannot join: another assignment, an older agent's
 * one-event shape, an event named twice, or an event started by one report
 * that the next does not finish (its start would be lost).
 */
export function coalesceReports(bodies: readonly unknown[]): { body: unknown; count: number } {
  const [first, ...rest] = bodies;
  if (!isEventsReport(first)) return { body: first, count: first === undefined ? 0 : 1 };
  let merged: EventsReport = first;
  let count = 1;
  for (const next of rest) {
    if (!isEventsReport(next) || next.instanceId !== merged.instanceId || next.deploymentId !== merged.deploymentId) break;
    const started = merged.running?.event;
    if (started !== undefined && !next.done.some((d) => d.event === started)) break;
    const named = [...merged.done, ...next.done].map((d) => d.event);
    if (next.running) named.push(next.running.event);
    if (new Set(named).size !== named.length) break;
    const { running: _finishedNow, ...closed } = merged;
    merged = { ...closed, done: [...merged.done, ...next.done], ...(next.running ? { running: next.running } : {}) };
    count++;
  }
  return { body: merged, count };
}
