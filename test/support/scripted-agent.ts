import type { EventsReport } from '../../lib/domain/agent-report.js';
import type { LifecycleEvent } from '../../lib/domain/lifecycle.js';
import type { ApiResponse, RequestOptions } from './api-events.js';

type Call = <T = any>(method: string, path: string, options?: RequestOptions) => Promise<ApiResponse<T>>;

export const agentPrincipal = (instanceId: string) => `arn:aws:sts::000000000000:assumed-role/fleetline-agent/${instanceId}`;

export interface Script {
  /** The event to fail, if any, with its error code. */
  failAt?: { event: string; errorCode?: string; exitCode?: number };
  /** Stop after reporting this event InProgress (to simulate a hung or lost agent). */
  hangAt?: string;
}

/**
 * An in-process stand-in for the agent: polls once and, if it has work,
 * reports every runnable event of it in order as the real agent would.
 */
export class ScriptedAgent {
  readonly reports: ApiResponse[] = [];
  /** What runBatched sent, in order. */
  readonly sent: EventsReport[] = [];

  constructor(
    private readonly call: Call,
    readonly instanceId: string,
    /** Waits for the worker to act on what was recorded (dispatches) before polling; reports go straight in. */
    private readonly settle: () => Promise<void> = async () => undefined,
  ) {}

  async poll(): Promise<ApiResponse> {
    await this.settle();
    return this.call('POST', '/agent/v1/poll', { body: { instanceId: this.instanceId }, principal: agentPrincipal(this.instanceId) });
  }

  async report(deploymentId: string, event: string, status: string, extra: Record<string, unknown> = {}): Promise<ApiResponse> {
    const res = await this.call('POST', '/agent/v1/report', {
      body: { instanceId: this.instanceId, deploymentId, event, status, ...extra },
      principal: agentPrincipal(this.instanceId),
    });
    this.reports.push(res);
    return res;
  }

  /**
   * Polls and runs one assignment whose bundle has scripts for `scripted` events
   * only (none: a no-op bundle), reporting as the real agent does (agent/executor.ts
   * with agent/reporter.ts): an event without work rides along with the next report;
   * each scripted event is one report (what finished since, and the event starting
   * now); DownloadBundle and Install, the agent's own steps, send nothing of their
   * own; one final report carries the rest, the last event run with its output tail.
   * (Hooks faster than a round trip may have the real agent join reports queued behind
   * the one in flight: fewer requests, never more.) Then waits for the worker; returns the deployment ID, or undefined when there was
   * no assignment.
   */
  async runBatched(scripted: readonly LifecycleEvent[] = []): Promise<string | undefined> {
    const polled = await this.poll();
    if (polled.status !== 200) throw new Error(`poll failed: ${polled.status} ${JSON.stringify(polled.body)}`);
    const assignment = polled.body.assignment;
    if (!assignment) return undefined;
    const deploymentId = assignment.deploymentId as string;
    const send = async (part: Omit<EventsReport, 'instanceId' | 'deploymentId'>) => {
      const body: EventsReport = { instanceId: this.instanceId, deploymentId, ...part };
      this.sent.push(body);
      const res = await this.call('POST', '/agent/v1/report', { body, principal: agentPrincipal(this.instanceId) });
      if (res.status !== 200) throw new Error(`report failed: ${res.status} ${JSON.stringify(res.body)}`);
      this.reports.push(res);
    };
    let noted: EventsReport['done'] = [];
    let held: EventsReport['done'] = [];
    for (const { name, status } of assignment.events as { name: LifecycleEvent; status: string }[]) {
      if (status !== 'Pending') continue;
      const ownStep = name === 'DownloadBundle' || name === 'Install';
      if (!ownStep && !scripted.includes(name)) {
        (held.length > 0 ? held : noted).push({ event: name, status: 'Skipped', message: 'no scripts for this event' });
        continue;
      }
      noted.push(...held.splice(0));
      const startedAt = new Date().toISOString();
      if (!ownStep) {
        await send({ done: noted, running: { event: name, startedAt, timeoutSeconds: 3600 } });
        noted = [];
      }
      held = [{ event: name, status: 'Succeeded', startedAt, endedAt: new Date().toISOString(), ...(ownStep ? {} : { exitCode: 0 }) }];
    }
    const [last, ...after] = held;
    await send({ done: [...noted, ...(last ? [{ ...last, outputTail: `${last.event} started\n${last.event} Succeeded\n` }] : []), ...after] });
    await this.settle();
    return deploymentId;
  }

  /**
   * Polls and runs one assignment, then waits for the worker to act on it; returns
   * its deployment ID, or undefined when there was none.
   */
  async runOnce(script: Script = {}): Promise<string | undefined> {
    const ran = await this.runAssignment(script);
    await this.settle();
    return ran;
  }

  private async runAssignment(script: Script): Promise<string | undefined> {
    const polled = await this.poll();
    if (polled.status !== 200) throw new Error(`poll failed: ${polled.status} ${JSON.stringify(polled.body)}`);
    const assignment = polled.body.assignment;
    if (!assignment) return undefined;
    for (const event of assignment.events as { name: string; status: string }[]) {
      if (event.status !== 'Pending') continue;
      const started = await this.report(assignment.deploymentId, event.name, 'InProgress', { timeoutSeconds: 60 });
      if (started.body?.action === 'stop') return assignment.deploymentId;
      if (script.hangAt === event.name) return assignment.deploymentId;
      const failed = script.failAt?.event === event.name;
      const done = await this.report(assignment.deploymentId, event.name, failed ? 'Failed' : 'Succeeded', {
        exitCode: failed ? (script.failAt?.exitCode ?? 1) : 0,
        ...(failed ? { errorCode: script.failAt?.errorCode ?? 'ScriptFailed', message: 'hook exited 1', outputTail: 'boom\n' } : {}),
      });
      if (failed || done.body?.action === 'stop') return assignment.deploymentId;
    }
    return assignment.deploymentId;
  }
}
