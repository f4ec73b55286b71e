/** The interval of the scheduled reconciler (serverless.yml: rate(1 minute)). */
export const PASS_INTERVAL_MS = 60 * 1000;

/**
 * The items a scheduled pass goes through, each pass starting one further
 * along: a pass that runs out of time leaves the last ones to the next, so
 * none is left behind for good by those ahead of it in the list.
 */
export function inTurn<T>(items: T[], now: number): T[] {
  if (items.length === 0) return items;
  const start = Math.floor(now / PASS_INTERVAL_MS) % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}
