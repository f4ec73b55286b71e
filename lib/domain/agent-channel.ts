import { z } from 'zod';
import { schema } from './schema.js';

/**
 * The control channel between the engine and agents: an API Gateway WebSocket
 * the agent opens (signed like its HTTP calls). The engine only ever pushes a
 * wake-up; what to do is then read over the agent's own authenticated HTTP
 * call, so a lost, repeated or late push changes nothing but latency.
 */
export const CHANNEL_LIMITS = {
  /** API Gateway closes any connection after 2 hours: agents renew before that. */
  maxConnectionSeconds: 2 * 60 * 60,
  /** …and one idle for 10 minutes. */
  idleTimeoutSeconds: 10 * 60,
  /** Frames above 32 KB are billed (and split) as more than one message. */
  frameBytes: 32 * 1024,
} as const;

/** How long a connection record lives if no $disconnect ever removes it. */
export const CONNECTION_TTL_SECONDS = CHANNEL_LIMITS.maxConnectionSeconds + 10 * 60;

/**
 * The newest connection of an instance gets its pushes; when it closes while
 * older ones of the same instance are still open, the newest of those takes
 * over. An instance's record remembers the connections it replaced; once more
 * than a few are remembered (renewals leave closed ones behind), only the open
 * ones are kept, and at most MAX_EARLIER_CONNECTIONS of them.
 */
export const EARLIER_CONNECTIONS_PRUNED_ABOVE = 4;
export const MAX_EARLIER_CONNECTIONS = 32;

/**
 * `dispatch`: poll for work; `stop`: end the named deployment's running hook;
 * `follow`: someone follows the named deployment's log here, so stream its
 * output (docs/live-logs.md) for LIVE_LOG.followSeconds, renewed by each push
 * and by each chunk's answer. An agent older than `follow` ignores the message.
 */
export const wakeReasons = ['dispatch', 'stop', 'follow'] as const;
export type WakeReason = (typeof wakeReasons)[number];

export const channelMessageSchema = /* @__PURE__ */ schema(() => z.strictObject({
  type: z.literal('wake'),
  reason: z.enum(wakeReasons),
  /** With reason `stop`: the deployment whose running hook the agent ends at once; with `follow`, the one whose output it streams. */
  deploymentId: z.string().min(1).max(64).optional(),
}));
export type ChannelMessage = z.infer<typeof channelMessageSchema>;

/** The one message an agent sends: it keeps the connection from idling out (answered by no function). */
export const KEEPALIVE_MESSAGE = JSON.stringify({ action: 'keepalive' });
/** The query parameter naming the instance a connection speaks for. */
export const INSTANCE_QUERY_PARAMETER = 'instanceId';
