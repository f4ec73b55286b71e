import { LIVE_LOG, readLiveChunkAnswer } from '../lib/domain/live-log.js';
import type { ApiAnswer } from './api-client.js';

export interface LiveStreamOptions {
  instanceId: string;
  deploymentId: string;
  /** Sends one chunk (POST /agent/v1/log). */
  post: (body: unknown) => Promise<ApiAnswer<unknown>>;
  log?: ((line: string) => void) | undefined;
  /** How long output is batched before it goes (default LIVE_LOG.flushMs). */
  flushMs?: number;
}

/** While someone follows, output that comes faster than it goes is kept up to a few chunks' worth. */
const MAX_PENDING_WHILE_FOLLOWED = 4 * LIVE_LOG.maxChunkBytes;

/**
 * One assignment's live log, agent side (docs/live-logs.md). Every line the
 * full log gets is offered here; while nobody follows only the last
 * LIVE_LOG.backlogBytes are kept (what a follower sees first) and nothing is
 * sent. Told to stream (a `follow` push, or a heartbeat answer), it sends
 * what it holds and then every LIVE_LOG.flushMs what came since, one request at
 * a time, until the follow lapses: each answer says how long someone still
 * follows, and an answer saying nobody does ends it at once.
 */
export class LiveStream {
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Lines were dropped from the front since the last chunk went. */
  private dropped = false;
  private followUntil = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  /** The server will take no more (the instance ended, the limit was reached, a refusal): nothing more is sent. */
  private done = false;
  private readonly flushMs: number;

  constructor(private readonly options: LiveStreamOptions) {
    this.flushMs = options.flushMs ?? LIVE_LOG.flushMs;
  }

  get following(): boolean {
    return !this.done && Date.now() < this.followUntil;
  }

  /** Someone follows for `seconds` more: what is held goes now. */
  follow(seconds: number): void {
    if (this.done || seconds <= 0) return;
    const was = this.following;
    this.followUntil = Math.max(this.followUntil, Date.now() + seconds * 1000);
    if (!was) {
      this.options.log?.(`deployment ${this.options.deploymentId}: someone follows its log; streaming the output`);
      this.schedule(0);
    }
  }

  /** A line of the full log (stamped, with its newline). */
  add(line: string): void {
    if (this.done) return;
    this.pending.push(line);
    this.pendingBytes += Buffer.byteLength(line);
    // Nobody following: only the backlog a follower sees first. Followed: a few chunks, so a burst is not cut.
    const limit = this.following ? MAX_PENDING_WHILE_FOLLOWED : LIVE_LOG.backlogBytes;
    while (this.pendingBytes > limit && this.pending.length > 1) {
      this.pendingBytes -= Buffer.byteLength(this.pending.shift() as string);
      this.dropped = true;
    }
    if (this.following) this.schedule(this.flushMs);
  }

  /** Sends what is held now, if someone follows (before the report that ends the instance, so a follower sees it all). */
  async finish(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
    if (this.following && this.pending.length > 0) await this.send();
    this.done = true;
  }

  private schedule(ms: number): void {
    if (this.timer || this.done) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.sending) {
        // One request at a time: what came meanwhile goes when it is answered.
        void this.sending.then(() => this.schedule(0));
        return;
      }
      this.sending = this.send().finally(() => {
        this.sending = undefined;
      });
    }, ms);
  }

  /** Sends everything held, in chunks of at most LIVE_LOG.maxChunkBytes, while someone follows. */
  private async send(): Promise<void> {
    while (this.following && this.pending.length > 0) {
      const text = this.take();
      let answer: ApiAnswer<unknown>;
      try {
        answer = await this.options.post({ instanceId: this.options.instanceId, deploymentId: this.options.deploymentId, seq: this.seq, text });
      } catch (error) {
        // Unreachable: the text goes back to the front and waits for the next line or the end.
        this.giveBack(text);
        this.options.log?.(`live log: could not send output (${(error as Error).message}); trying again with the next output`);
        return;
      }
      if (answer.status >= 500 || answer.status === 429) {
        this.giveBack(text);
        this.options.log?.(`live log: the server could not take output (HTTP ${answer.status}); trying again with the next output`);
        return;
      }
      if (answer.status !== 200) {
        this.stop(`the server refused live output (HTTP ${answer.status}${describe(answer.body)})`);
        return;
      }
      this.seq++;
      const told = readLiveChunkAnswer(answer.body);
      if (!told.following) {
        this.followUntil = 0;
        this.options.log?.(`deployment ${this.options.deploymentId}: nobody follows its log any more; streaming stopped`);
        return;
      }
      this.followUntil = Date.now() + told.followSeconds * 1000;
      if (this.seq >= LIVE_LOG.maxChunks) {
        this.stop(`the live log reached its ${LIVE_LOG.maxChunks} chunks; the rest is in the full log`);
        return;
      }
    }
  }

  /** The front of what is held, up to one chunk, as whole lines where they fit. */
  private take(): string {
    let text = this.dropped ? '[fleetline-agent] (earlier output is not shown live: it is in the full log)\n' : '';
    this.dropped = false;
    while (this.pending.length > 0) {
      const line = this.pending[0] as string;
      const room = LIVE_LOG.maxChunkBytes - Buffer.byteLength(text);
      const size = Buffer.byteLength(line);
      if (size <= room) {
        text += line;
        this.pending.shift();
        this.pendingBytes -= size;
        continue;
      }
      if (text.length === 0) {
        // One line longer than a chunk: its first part goes now (a quarter of the byte room in UTF-16 units: at most 3 bytes each).
        const part = line.slice(0, Math.floor(LIVE_LOG.maxChunkBytes / 4));
        this.pending[0] = line.slice(part.length);
        this.pendingBytes -= Buffer.byteLength(part);
        text = part;
      }
      break;
    }
    return text;
  }

  private giveBack(text: string): void {
    this.pending.unshift(text);
    this.pendingBytes += Buffer.byteLength(text);
  }

  private stop(why: string): void {
    this.done = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.options.log?.(`deployment ${this.options.deploymentId}: ${why}`);
  }
}

function describe(body: unknown): string {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === 'string' ? `: ${message.slice(0, 300)}` : '';
}

