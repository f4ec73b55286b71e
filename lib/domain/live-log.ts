import { z } from 'zod';
import { DEPLOYMENT_ID_PATTERN } from './deployment.js';
import { INSTANCE_STATUSES } from './lifecycle.js';
import { nameSchema } from './names.js';
import { schema } from './schema.js';

/**
 * Live logs: a running hook's output, streamed only while someone follows it
 * (docs/live-logs.md). A follower holds a lease on one instance deployment's
 * log; while it lasts the agent sends its output in numbered chunks, which the
 * server keeps for a short while and hands to followers by cursor. Nobody
 * following: no lease, no push, no chunk, not one extra request.
 */
export const LIVE_LOG = {
  /** A follower's lease: renewed by its reads once half of it is gone, lapsed this long after its last read. */
  followSeconds: 30,
  /** How long the agent batches output before it sends a chunk. */
  flushMs: 250,
  /** One chunk's text (UTF-8 bytes): DynamoDB bills writes per KB, an item must stay far below 400 KB. */
  maxChunkBytes: 16 * 1024,
  /** Chunks per instance deployment: the live copy stays bounded (about 32 MB) however long a hook prints. */
  maxChunks: 2000,
  /** What the agent keeps of output nobody has been sent yet (the start of a follow gets the last of it). */
  backlogBytes: 16 * 1024,
  /** Chunks expire this long after they are written: the full log is in S3 once the instance ends. */
  chunkTtlSeconds: 3600,
  /** How many chunks one read hands out. */
  maxChunksPerRead: 50,
  /** How soon a follower should read again while the instance runs. */
  pollAfterMs: 500,
} as const;

const deploymentId = /* @__PURE__ */ schema(() => z.string().regex(DEPLOYMENT_ID_PATTERN, 'must be a deployment ID (d-XXXXXXXXX)'));
const seq = /* @__PURE__ */ schema(() => z.number().int('must be a whole number').min(0).max(LIVE_LOG.maxChunks - 1, `must be below ${LIVE_LOG.maxChunks}`));

const encoder = /* @__PURE__ */ schema(() => new TextEncoder());
const utf8Bytes = (text: string) => encoder.encode(text).length;

/** `POST /agent/v1/log`: one chunk of a running hook's output, as the full log writes it (stamped lines). */
export const liveChunkRequestSchema = /* @__PURE__ */ schema(() => z.strictObject({
  instanceId: nameSchema,
  deploymentId,
  /** The chunk's number in this assignment's live log, from 0: a repeat is taken once. */
  seq,
  text: z.string().min(1).refine((text) => utf8Bytes(text) <= LIVE_LOG.maxChunkBytes, `must be at most ${LIVE_LOG.maxChunkBytes} bytes of UTF-8`),
}));
export type LiveChunkRequest = z.output<typeof liveChunkRequestSchema>;

/** Whether anybody still follows: the agent keeps streaming for `followSeconds` more, or stops. */
export const liveChunkAnswerSchema = /* @__PURE__ */ schema(() => z.object({
  following: z.boolean(),
  followSeconds: z.number().min(0).max(3600),
}));
export type LiveChunkAnswer = z.output<typeof liveChunkAnswerSchema>;

/** Reads a chunk's answer leniently: anything but a clear `following: true` stops the stream. */
export function readLiveChunkAnswer(body: unknown): LiveChunkAnswer {
  const parsed = liveChunkAnswerSchema.safeParse(body);
  return parsed.success ? parsed.data : { following: false, followSeconds: 0 };
}

/** One chunk as a follower reads it. */
export const liveChunkSchema = /* @__PURE__ */ schema(() => z.object({ seq, text: z.string(), at: z.string() }));
export type LiveChunk = z.output<typeof liveChunkSchema>;

/** `GET /deployments/{id}/instances/{instanceId}/log`: the query. */
export const liveLogQuerySchema = /* @__PURE__ */ schema(() => z.strictObject({
  /** The last chunk already read (the previous answer's `cursor`); none: from the first chunk kept. */
  cursor: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(-1).max(LIVE_LOG.maxChunks - 1).default(-1),
  /** `true`: the caller follows (its read holds the follower lease that makes the agent stream). */
  follow: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
}));

/** Its answer: chunks after the cursor, where to read on from, and whether there is anything left to wait for. */
export const liveLogAnswerSchema = /* @__PURE__ */ schema(() => z.object({
  deploymentId,
  instanceId: nameSchema,
  instanceStatus: z.enum(INSTANCE_STATUSES),
  chunks: z.array(liveChunkSchema),
  /** Pass it back as `cursor` to read on; -1 when nothing was read yet. */
  cursor: z.number().int(),
  /** More chunks are kept than this answer held: read again at once. */
  more: z.boolean(),
  /** The instance has ended: nothing more will be streamed (the full log is at `GET …/instances/{instanceId}`'s logUrl). */
  ended: z.boolean(),
  /** While it runs: how soon to read again. */
  pollAfterMs: z.number().int().nonnegative(),
}));
export type LiveLogAnswer = z.output<typeof liveLogAnswerSchema>;

/** The seconds left of a follower lease ending at `until` (0 once lapsed or absent). */
export function followSecondsLeft(until: string | undefined, now: Date): number {
  if (!until) return 0;
  return Math.max(0, Math.floor((Date.parse(until) - now.getTime()) / 1000));
}

/** A follower's read renews the lease only once half of it is gone: one write per 15 s, not one per read. */
export function followLeaseIsDue(until: string | undefined, now: Date): boolean {
  return followSecondsLeft(until, now) < LIVE_LOG.followSeconds / 2;
}
