import type { EventsReport } from '../lib/domain/agent-report.js';
import { type ReportAnswer, readAnswer, reportAnswerSchema } from '../lib/domain/agent-wire.js';
import type { AcceptedEffect, Delivery, Outbox } from './outbox.js';

export type FinishedEvent = EventsReport['done'][number];
export type StartingEvent = NonNullable<EventsReport['running']>;

export interface ReporterOptions {
  instanceId: string;
  deploymentId: string;
  outbox: Outbox;
  /** The agent is stopping: what is not delivered stays in the outbox. */
  shutdown: AbortSignal;
  /** A bare check-in (renews the lease, carries stop requests): whether the server still holds this assignment for the agent. */
  heartbeat: () => Promise<boolean>;
  /** How long the agent may go without contacting the server before it checks in. */
  checkInMs: () => number;
  /** The server said stop, or refused the instance's reports (409): run nothing more. */
  onStop: () => void;
  /**
   * How long a hook's start report waits on disk for the report that ends the
   * hook, so that both go as one request (0: it goes at once).
   */
  startReportDelayMs?: number;
  log?: ((line: string) => void) | undefined;
}

/**
 * The agent's side of "at most one request per scripted event": events without
 * scripts (and the agent's own steps) are noted and ride along with the next
 * report, which also says which event starts now; a start report may wait for
 * the report that ends its hook (startReportDelayMs). The server hears from the
 * agent at least every `checkInMs`: a check-in sends what was noted meanwhile,
 * or is a bare heartbeat when there is nothing to tell. Reports go out one at a
 * time, in order, through the durable outbox; those that pile up behind the one
 * in flight go out together.
 */
export class EventReporter {
  private noted: FinishedEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Start reports waiting to go (see startReportDelayMs): their timers, and what lets them go now. */
  private readonly delayed = new Map<NodeJS.Timeout, () => void>();
  private closed = false;
  /** When the server last accepted something from this agent for the assignment (it was just handed out). */
  private heardAt = Date.now();
  /** The server refused a report (409): it will take nothing more of this assignment. */
  refused = false;

  constructor(private readonly options: ReporterOptions) {
    this.arm();
  }

  /** An event finished: it goes out with the next report. */
  note(event: FinishedEvent): void {
    this.noted.push(event);
  }

  /**
   * Sends everything noted, then `finished`, and the event starting now, in one
   * report. `then` runs once the server has accepted it (also after a restart).
   */
  async send(part: Part): Promise<ReportAnswer | undefined> {
    return (await this.queue(part))?.answer;
  }

  /**
   * Like `send`, but returns once the report is on disk when the server heard
   * from this agent within the check-in interval: the lease it holds then
   * outlasts the report's round trip, so the next hook need not wait for it
   * (a stop in the answer still ends that hook). The report then goes after
   * `startReportDelayMs`, or earlier with the next one: a hook shorter than
   * that costs no request of its own, and its start never holds up the report
   * that ends it. Otherwise (the lease may be short) it goes now and the
   * answer is waited for.
   */
  async sendAhead(part: Part): Promise<void> {
    const fresh = Date.now() - this.heardAt < this.options.checkInMs();
    const queued = await this.queue(part, fresh ? (this.options.startReportDelayMs ?? 0) : 0);
    if (!queued) return;
    if (this.refused || !fresh) {
      await queued.answer;
      return;
    }
    queued.answer.catch((error) => this.options.log?.(`error: ${(error as Error).message}`));
  }

  /** No more reports for this assignment: start reports still waiting are let go (the last report took them along, or they stay in the outbox). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const [timer, go] of this.delayed) {
      clearTimeout(timer);
      go();
    }
    this.delayed.clear();
  }

  /** The report made of what was noted and `part`, on disk; its answer follows (once delivered, after `delayMs`). */
  private async queue({ finished = [], starting, then }: Part, delayMs = 0): Promise<{ answer: Promise<ReportAnswer | undefined> } | undefined> {
    const done = [...this.noted.splice(0), ...finished];
    if (this.refused || (done.length === 0 && !starting)) return undefined;
    const { instanceId, deploymentId } = this.options;
    const body: EventsReport = { instanceId, deploymentId, done, ...(starting ? { running: starting } : {}) };
    const id = await this.options.outbox.add(body, then);
    const what = [...done.map((d) => `${d.event} ${d.status}`), ...(starting ? [`${starting.event} started`] : [])].join(', ');
    const deliver = () => this.options.outbox.deliverThrough(id, this.options.shutdown).then((delivery) => this.heard(delivery, what));
    if (delayMs <= 0) return { answer: deliver() };
    // A later report delivers this one with it; the outbox then answers for it at once.
    const answer = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        resolve();
      }, delayMs);
      this.delayed.set(timer, resolve);
    }).then(deliver);
    return { answer };
  }

  private heard(delivery: Delivery, what: string): ReportAnswer | undefined {
    this.arm();
    if (delivery.kind === 'kept') throw new Error(`the agent is stopping; the report (${what}) stays queued for its next start`);
    if (delivery.kind === 'refused') {
      if (delivery.answer.status !== 409) throw new Error(`report (${what}): HTTP ${delivery.answer.status}`);
      this.refused = true;
      this.options.onStop();
      return undefined;
    }
    this.heardAt = Date.now();
    const answer = readAnswer(reportAnswerSchema, delivery.answer.body, 'report answer');
    if (answer.action === 'stop') this.options.onStop();
    return answer;
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.checkIn().catch((error) => this.options.log?.(`error: ${(error as Error).message}`));
    }, this.options.checkInMs());
  }

  private async checkIn(): Promise<void> {
    if (this.closed) return;
    if (this.noted.length > 0) {
      await this.send({});
      return;
    }
    try {
      if (await this.options.heartbeat()) this.heardAt = Date.now();
    } finally {
      this.arm();
    }
  }
}

type Part = { finished?: FinishedEvent[]; starting?: StartingEvent; then?: AcceptedEffect };
