import WebSocket from 'ws';
import { CHANNEL_LIMITS, INSTANCE_QUERY_PARAMETER, KEEPALIVE_MESSAGE, channelMessageSchema } from '../lib/domain/agent-channel.js';
import { LIVE_LOG } from '../lib/domain/live-log.js';

export interface PushChannelOptions {
  /** The control channel's wss:// (or local ws://) URL. */
  url: string;
  instanceId: string;
  /** Headers proving who the agent is on the upgrade request (SigV4, or the local principal header). */
  authHeaders: (url: URL) => Promise<Record<string, string>>;
  log?: (line: string) => void;
  /** Open a fresh connection this long after the last one opened (API Gateway ends them at 2 hours). */
  renewMs?: number;
  /** Send one keep-alive after this long without traffic (API Gateway closes idle ones at 10 minutes). */
  keepaliveMs?: number;
  /** Reconnect backoff bounds. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Counts every connection attempt and keep-alive (the request and message figures of the benches). */
  onRequest?: (kind: 'connect' | 'keepalive') => void;
  /** The channel's own timers (renewal, keep-alive, reconnect) and jitter; tests drive them by hand. */
  timers?: ChannelTimers;
  random?: () => number;
}

export interface ChannelTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: ChannelTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** When an agent renews its connection and sends a keep-alive, unless told otherwise. */
export const CHANNEL_TIMINGS = {
  renewSeconds: CHANNEL_LIMITS.maxConnectionSeconds - 10 * 60,
  keepaliveSeconds: CHANNEL_LIMITS.idleTimeoutSeconds - 60,
  /** A renewal comes uniformly between renewSeconds × (1 − renewSpread) and renewSeconds after connecting. */
  renewSpread: 0.05,
} as const;

/**
 * The agent's end of the control channel. It only ever wakes the agent: a
 * `dispatch` push ends the idle wait (the agent then polls for its assignment),
 * a `stop` push ends the matching running deployment's hook at once. While the
 * socket is down the agent polls as it always did; after each connect that
 * follows a gap it polls once, since a push may have been missed meanwhile.
 */
export class PushChannel {
  private socket: WebSocket | undefined;
  private failures = 0;
  private closed = false;
  private waiters = new Set<() => void>();
  private stopListeners = new Map<string, Set<() => void>>();
  private followListeners = new Map<string, Set<(seconds: number) => void>>();
  /** Follows pushed for deployments the agent has not begun yet (the push may beat the poll): deployment → until (ms). */
  private recentFollows = new Map<string, number>();
  private retryTimer: unknown;
  private retryPending = false;
  /** One of each for the open connection: a renewal or a loss leaves none behind for the next. */
  private renewal: unknown;
  private keepalive: unknown;
  private readonly renewMs: number;
  private readonly keepaliveMs: number;
  private readonly timers: ChannelTimers;
  private readonly random: () => number;
  private target: string;
  /** How many times the channel woke the agent (pushes, connects, losses): a change means "poll now". */
  wakes = 0;

  constructor(private readonly options: PushChannelOptions) {
    this.renewMs = options.renewMs ?? CHANNEL_TIMINGS.renewSeconds * 1000;
    this.keepaliveMs = options.keepaliveMs ?? CHANNEL_TIMINGS.keepaliveSeconds * 1000;
    this.timers = options.timers ?? realTimers;
    this.random = options.random ?? Math.random;
    this.target = options.url;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** The URL the channel connects to now. */
  get url(): string {
    return this.target;
  }

  /**
   * Moves the channel to another URL (the server named a new one): the new
   * connection is opened at once and replaces the old one only once it is up,
   * as a renewal does; while it cannot connect the old one serves until it ends.
   */
  retarget(url: string): void {
    if (url === this.target || this.closed) return;
    this.target = url;
    if (!this.retryPending) void this.connect();
  }

  start(): this {
    void this.connect();
    return this;
  }

  /** Resolves after `ms`, or earlier on a push, a (re)connect or a lost connection. */
  waitForWake(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  /** Calls `onStop` when a stop for this deployment is pushed; returns the unsubscribe. */
  onStop(deploymentId: string, onStop: () => void): () => void {
    const listeners = this.stopListeners.get(deploymentId) ?? new Set();
    listeners.add(onStop);
    this.stopListeners.set(deploymentId, listeners);
    return () => {
      listeners.delete(onStop);
      if (listeners.size === 0) this.stopListeners.delete(deploymentId);
    };
  }

  /**
   * Calls `onFollow(seconds)` whenever a follow of this deployment's log is
   * pushed, and at once when one was pushed shortly before; returns the unsubscribe.
   */
  onFollow(deploymentId: string, onFollow: (seconds: number) => void): () => void {
    const listeners = this.followListeners.get(deploymentId) ?? new Set();
    listeners.add(onFollow);
    this.followListeners.set(deploymentId, listeners);
    const until = this.recentFollows.get(deploymentId);
    if (until !== undefined && until > Date.now()) onFollow(Math.ceil((until - Date.now()) / 1000));
    return () => {
      listeners.delete(onFollow);
      if (listeners.size === 0) this.followListeners.delete(deploymentId);
    };
  }

  close(): void {
    this.closed = true;
    this.timers.clear(this.retryTimer);
    this.timers.clear(this.renewal);
    this.timers.clear(this.keepalive);
    this.socket?.close(1000);
    this.wakeAll();
  }

  private wakeAll(): void {
    this.wakes++;
    for (const wake of [...this.waiters]) wake();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const url = new URL(this.target);
    url.searchParams.set(INSTANCE_QUERY_PARAMETER, this.options.instanceId);
    let socket: WebSocket;
    try {
      this.options.onRequest?.('connect');
      socket = new WebSocket(url, { headers: await this.options.authHeaders(url), handshakeTimeout: 15_000 });
    } catch (error) {
      this.retry(`cannot connect: ${(error as Error).message}`);
      return;
    }
    let opened = false;
    /** A refused upgrade was already answered with a retry: its close must not schedule another. */
    let refused = false;
    socket.on('open', () => {
      opened = true;
      this.failures = 0;
      const previous = this.socket;
      this.socket = socket;
      // The old connection is closed only once the new one is up: no gap in which a push is lost.
      if (previous && previous !== socket) previous.close(1000, 'renewed');
      this.options.log?.('control channel connected');
      this.armKeepalive();
      this.timers.clear(this.renewal);
      // Up to renewSpread early, so that a fleet connected together does not renew together.
      const spread = CHANNEL_TIMINGS.renewSpread;
      this.renewal = this.timers.set(() => void this.connect(), this.renewMs * (1 - spread + this.random() * spread));
      // After a gap a push may have been missed: poll. A renewal had no gap (the old connection was open until now).
      if (!previous) this.wakeAll();
    });
    socket.on('message', (data) => {
      this.armKeepalive();
      this.receive(data.toString());
    });
    socket.on('unexpected-response', (_req, res) => {
      refused = true;
      this.retry(`refused: HTTP ${res.statusCode}`);
      socket.terminate();
    });
    socket.on('error', () => undefined); // 'close' follows and decides
    socket.on('close', () => {
      if (this.socket !== socket) {
        if (!opened && !refused && !this.connected) this.retry('could not connect');
        return; // a renewed connection's predecessor
      }
      this.socket = undefined;
      this.timers.clear(this.keepalive);
      this.timers.clear(this.renewal);
      this.wakeAll(); // back to polling until reconnected
      this.retry('connection lost');
    });
  }

  private retry(why: string): void {
    if (this.closed || this.retryPending) return;
    this.retryPending = true;
    this.failures++;
    const max = this.options.maxBackoffMs ?? 60_000;
    const min = this.options.minBackoffMs ?? 1000;
    // Full jitter: a fleet that lost the channel together must not reconnect together.
    const delay = Math.max(min / 2, this.random() * Math.min(max, min * 2 ** Math.min(this.failures, 10)));
    this.options.log?.(`control channel ${why}; polling, reconnecting in ${Math.round(delay)} ms`);
    this.retryTimer = this.timers.set(() => {
      this.retryPending = false;
      void this.connect();
    }, delay);
  }

  private followed(deploymentId: string): void {
    const now = Date.now();
    for (const [id, until] of this.recentFollows) if (until <= now) this.recentFollows.delete(id);
    // A push names any deployment; only a few are remembered (a running agent has one).
    if (this.recentFollows.size < 16 || this.recentFollows.has(deploymentId)) this.recentFollows.set(deploymentId, now + LIVE_LOG.followSeconds * 1000);
    for (const onFollow of this.followListeners.get(deploymentId) ?? []) onFollow(LIVE_LOG.followSeconds);
  }

  private armKeepalive(): void {
    this.timers.clear(this.keepalive);
    this.keepalive = this.timers.set(() => {
      if (!this.connected) return;
      this.options.onRequest?.('keepalive');
      this.socket?.send(KEEPALIVE_MESSAGE);
      this.armKeepalive();
    }, this.keepaliveMs);
  }

  private receive(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    const message = channelMessageSchema.safeParse(parsed);
    if (!message.success) return;
    if (message.data.reason === 'follow') {
      // Not work: the agent streams its running hook's output, and does not poll.
      if (message.data.deploymentId) this.followed(message.data.deploymentId);
      return;
    }
    if (message.data.reason === 'stop' && message.data.deploymentId) {
      for (const onStop of this.stopListeners.get(message.data.deploymentId) ?? []) onStop();
    }
    this.wakeAll();
  }
}
