import type { EventsReport } from '../lib/domain/agent-report.js';
import { type ReportAnswer, readAnswer, reportAnswerSchema } from '../lib/domain/agent-wire.js';
import type { AcceptedEffect, Outbox } from './outbox.js';

export type FinishedEvent = EventsReport['done'][number];
export type StartingEvent = NonNullable<EventsReport['running']>;

export interface ReporterOptions {
  instanceId: string;
  deploymentId: string;
  outbox: Outbox;
  /** The agent is stopping: what is not delivered stays in the outbox. */
  shutdown: AbortSignal;
  /** A bare check-in (renews the lease, carries stop requests); its failures are its own business. */
  heartbeat: () => Promise<void>;
  /** How long the agent may go without contacting the server before it checks in. */
  checkInMs: () => number;
  /** The server said stop, or refused the instance's reports (409): run nothing more. */
  onStop: () => void;
  log?: ((line: string) => void) | undefined;
}

/**
 * The agent's side of "one request per scripted event": events without scripts
 * (and the agent's own steps) are noted and ride along with the next report,
 * which also says which event starts now. The server hears from the agent at
 * least every `checkInMs`: a check-in sends what was noted meanwhile, or is a
 * bare heartbeat when there is nothing to tell. Reports go out one at a time,
 * in order, through the durable outbox.
 */
export class EventReporter {
  private noted: FinishedEvent[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
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
  send(part: { finished?: FinishedEvent[]; starting?: StartingEvent; then?: AcceptedEffect }): Promise<ReportAnswer | undefined> {
    return this.serially(() => this.deliver(part));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async deliver({ finished = [], starting, then }: { finished?: FinishedEvent[]; starting?: StartingEvent; then?: AcceptedEffect }) {
    const done = [...this.noted.splice(0), ...finished];
    if (this.refused || (done.length === 0 && !starting)) return undefined;
    const { instanceId, deploymentId } = this.options;
    const body: EventsReport = { instanceId, deploymentId, done, ...(starting ? { running: starting } : {}) };
    const delivery = await this.options.outbox.send(body, this.options.shutdown, then);
    this.arm();
    const what = [...done.map((d) => `${d.event} ${d.status}`), ...(starting ? [`${starting.event} started`] : [])].join(', ');
    if (delivery.kind === 'kept') throw new Error(`the agent is stopping; the report (${what}) stays queued for its next start`);
    if (delivery.kind === 'refused') {
      if (delivery.answer.status !== 409) throw new Error(`report (${what}): HTTP ${delivery.answer.status}`);
      this.refused = true;
      this.options.onStop();
      return undefined;
    }
    const answer = readAnswer(reportAnswerSchema, delivery.answer.body, 'report answer');
    if (answer.action === 'stop') this.options.onStop();
    return answer;
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.serially(() => this.checkIn()).catch((error) => this.options.log?.(`error: ${(error as Error).message}`));
    }, this.options.checkInMs());
  }

  private async checkIn(): Promise<void> {
    if (this.closed) return;
    if (this.noted.length > 0) {
      await this.deliver({});
      return;
    }
    try {
      await this.options.heartbeat();
    } finally {
      this.arm();
    }
  }
}
