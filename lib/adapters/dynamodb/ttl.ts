/**
 * How long items that are not a record of truth live (the table's TTL
 * attribute `expiresAt`, epoch seconds; docs/data-model.md lists them).
 * Each outlives by far the longest time the item can still matter.
 */
export const TTL_DAYS = {
  /** Only reordered S3 events for the same key need it; Lambda drops async events after 6 hours. */
  objectSequencer: 30,
  /** The tail shown beside a finished event; the full log is in S3. */
  eventOutput: 90,
  /** Deleted when the instance deployment ends; the TTL only sweeps one a crash left behind. */
  agentAssignment: 14,
  /** A wake-up hint for a waiting deploy action; the reconciler retries it anyway. */
  groupWaiter: 14,
  /** Deleted when its batch is dispatched or given back; the TTL only sweeps a proposal no reservation took. */
  reservedChunk: 1,
  /** The event feed (GET /events) keeps two weeks of state changes; EventBridge has them as they happen. */
  event: 14,
  /** A repeated request within a week returns the same deployment. */
  idempotencyToken: 7,
} as const;

export function expiresAt(days: number, from: number = Date.now()): number {
  return Math.floor(from / 1000) + days * 24 * 3600;
}
