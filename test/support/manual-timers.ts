import type { ChannelTimers } from '../../agent/push-channel.js';

/**
 * Timers that only move when the test says so: the control channel's renewal,
 * keep-alive and reconnect timers under test control, while its sockets run
 * on the real event loop (so `waitFor` and the `ws` library keep their own).
 */
export class ManualTimers implements ChannelTimers {
  now = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; ms: number; fn: () => void }>();

  set(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + ms, ms, fn });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** The delays the pending timers were set with, in the order they were set. */
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }

  /** Moves the clock on by `ms`, running each timer that falls due on the way, earliest first. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
}
