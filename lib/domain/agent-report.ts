import { z } from 'zod';
import type { EventRecord, InstanceDeployment } from './deployment.js';
import { ERROR_CODES, LIFECYCLE_EVENTS, OUTPUT_TAIL_BYTES } from './lifecycle.js';
import { nameSchema } from './names.js';
import { schema } from './schema.js';
import { replaceLoneSurrogates } from './well-formed.js';

const isoTime = /* @__PURE__ */ schema(() => z.iso.datetime({ offset: true, error: 'must be an ISO-8601 timestamp' }));
const deploymentId = /* @__PURE__ */ schema(() => z.string().regex(/^d-[A-Z0-9]{9}$/, 'must be a deployment ID (d-XXXXXXXXX)'));
const eventName = /* @__PURE__ */ schema(() => z.enum(LIFECYCLE_EVENTS, { error: `must be one of ${LIFECYCLE_EVENTS.join(', ')}` }));
const outputTail = /* @__PURE__ */ schema(() => z
  .string()
  .refine((s) => Buffer.byteLength(s) <= OUTPUT_TAIL_BYTES, `must be at most ${OUTPUT_TAIL_BYTES} bytes`)
  .transform(replaceLoneSurrogates));
/** The longest event timeout a report carries (preflight refuses appspecs that would need more). */
export const MAX_REPORTED_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** For an event that starts: how long it may run (the sum of its scripts' timeouts). */
const timeoutSeconds = /* @__PURE__ */ schema(() => z.number().int().min(1).max(MAX_REPORTED_TIMEOUT_SECONDS));
const finished = /* @__PURE__ */ schema(() => ({
  startedAt: isoTime.optional(),
  endedAt: isoTime.optional(),
  exitCode: z.number().int().nullable().optional(),
  errorCode: z.enum(ERROR_CODES, { error: `must be one of ${ERROR_CODES.join(', ')}` }).optional(),
  message: z.string().max(2048, 'must be at most 2048 characters').transform(replaceLoneSurrogates).optional(),
  outputTail: outputTail.optional(),
}));

/** One event per report: what older agents send (an event started, or one finished). */
export const agentReportSchema = /* @__PURE__ */ schema(() => z.strictObject({
  instanceId: nameSchema,
  deploymentId,
  event: eventName,
  status: z.enum(['InProgress', 'Succeeded', 'Failed', 'Skipped'], { error: 'must be InProgress, Succeeded, Failed or Skipped' }),
  ...finished,
  timeoutSeconds: timeoutSeconds.optional(),
}));
export type AgentReport = z.output<typeof agentReportSchema>;

/**
 * Everything that happened since the agent's last report, in one request:
 * the events that finished (in order; events without scripts ride along with
 * the next scripted one) and the event that starts now, if any. An agent
 * reports at most once per scripted event, and once more at the end.
 */
export const eventsReportSchema = /* @__PURE__ */ schema(() => z
  .strictObject({
    instanceId: nameSchema,
    deploymentId,
    done: z
      .array(z.strictObject({ event: eventName, status: z.enum(['Succeeded', 'Failed', 'Skipped'], { error: 'must be Succeeded, Failed or Skipped' }), ...finished }))
      .max(LIFECYCLE_EVENTS.length, `must hold at most ${LIFECYCLE_EVENTS.length} events`),
    running: z.strictObject({ event: eventName, startedAt: isoTime.optional(), timeoutSeconds }).optional(),
  })
  .refine((r) => r.done.length > 0 || r.running !== undefined, { error: 'a report names at least one event (done or running)', path: ['done'] })
  .refine((r) => new Set([...r.done.map((d) => d.event), ...(r.running ? [r.running.event] : [])]).size === r.done.length + (r.running ? 1 : 0), {
    error: 'must name each event at most once',
    path: ['done'],
  }));
export type EventsReport = z.output<typeof eventsReportSchema>;

/** One change of one event, as applyReport takes it. */
export type ReportStep = Omit<AgentReport, 'instanceId' | 'deploymentId'>;

/** Either report shape as the ordered changes it carries. */
export function reportSteps(report: AgentReport | EventsReport): ReportStep[] {
  if (!('done' in report)) {
    const { instanceId: _i, deploymentId: _d, ...step } = report;
    return [step];
  }
  const running: ReportStep[] = report.running ? [{ ...report.running, status: 'InProgress' }] : [];
  return [...report.done, ...running];
}

/** Extra time the server allows past an event's own timeout before declaring it timed out. */
export const DEADLINE_GRACE_SECONDS = 60;

export type ReportOutcome =
  | { kind: 'duplicate' }
  | { kind: 'conflict'; reason: string }
  | { kind: 'applied'; events: EventRecord[]; instanceStatus: 'InProgress' | 'Succeeded' | 'Failed' | 'Skipped' };

const DONE = new Set(['Succeeded', 'Skipped', 'Failed']);

/**
 * Applies one agent report to an instance's state. Pure: the caller writes the
 * result conditionally on the version it read. A repeat of what is already
 * recorded is a duplicate (no change); anything out of order is a conflict.
 */
export function applyReport(
  instance: InstanceDeployment,
  report: ReportStep,
  now: Date,
  ignoreApplicationStopFailures: boolean,
): ReportOutcome {
  const index = instance.events.findIndex((e) => e.name === report.event);
  const current = instance.events[index];
  if (!current) return { kind: 'conflict', reason: `${report.event} is not an event of this assignment` };
  if (current.status === report.status) return { kind: 'duplicate' };
  // A start replayed after the event's end (reports sent together, then again one by one after a crash) is old news.
  if (report.status === 'InProgress' && DONE.has(current.status)) return { kind: 'duplicate' };
  if (instance.status !== 'InProgress') {
    return { kind: 'conflict', reason: `instance ${instance.instanceId} is already ${instance.status} in this deployment` };
  }
  const earlier = instance.events.slice(0, index).find((e) => !DONE.has(e.status));
  if (earlier) return { kind: 'conflict', reason: `${earlier.name} has not finished yet (it is ${earlier.status})` };
  const allowed = current.status === 'Pending' || (current.status === 'InProgress' && report.status !== 'InProgress');
  if (!allowed) return { kind: 'conflict', reason: `${report.event} is already ${current.status}` };

  const nowIso = now.toISOString();
  const updated: EventRecord = {
    ...current,
    status: report.status,
    startedAt: current.startedAt ?? report.startedAt ?? nowIso,
    ...(report.status === 'InProgress'
      ? {
          deadline: report.timeoutSeconds
            ? new Date(now.getTime() + (report.timeoutSeconds + DEADLINE_GRACE_SECONDS) * 1000).toISOString()
            : undefined,
        }
      : { endedAt: report.endedAt ?? nowIso, deadline: undefined }),
    exitCode: report.exitCode ?? current.exitCode,
    errorCode: report.errorCode ?? (report.status === 'Failed' ? 'UnknownError' : current.errorCode),
    message: report.message ?? current.message,
    outputTail: report.outputTail ?? current.outputTail,
  };
  const events = instance.events.map((e, i) => (i === index ? updated : e));

  const failureIgnored = report.event === 'ApplicationStop' && ignoreApplicationStopFailures;
  if (report.status === 'Failed' && !failureIgnored) return { kind: 'applied', events, instanceStatus: 'Failed' };
  const allDone = events.every((e) => DONE.has(e.status));
  if (!allDone) return { kind: 'applied', events, instanceStatus: 'InProgress' };
  // Nothing ran at all (the agent's own DownloadBundle and Install included): the instance was skipped, as in CodeDeploy.
  return { kind: 'applied', events, instanceStatus: events.every((e) => e.status === 'Skipped') ? 'Skipped' : 'Succeeded' };
}

/**
 * Applies a report's changes in order, as one change of state: steps already
 * recorded are skipped (a retried report), anything out of order makes the
 * whole report a conflict, and nothing applied at all is a duplicate.
 */
export function applySteps(
  instance: InstanceDeployment,
  steps: ReportStep[],
  now: Date,
  ignoreApplicationStopFailures: boolean,
): ReportOutcome {
  let current = instance;
  let applied: Extract<ReportOutcome, { kind: 'applied' }> | undefined;
  for (const step of steps) {
    const outcome = applyReport(current, step, now, ignoreApplicationStopFailures);
    if (outcome.kind === 'conflict') return outcome;
    if (outcome.kind === 'duplicate') continue;
    applied = outcome;
    current = { ...current, events: outcome.events, status: outcome.instanceStatus };
  }
  return applied ?? { kind: 'duplicate' };
}

/**
 * Work that could not start on the host (its hook credentials could not be
 * issued): the first event not yet finished fails with `message`, and the
 * events after it are recorded Skipped.
 */
export function failBeforeStart(events: EventRecord[], message: string, now: Date): EventRecord[] {
  const index = events.findIndex((e) => !DONE.has(e.status));
  const nowIso = now.toISOString();
  const failed = events.map((e, i) =>
    i === index ? { ...e, status: 'Failed' as const, startedAt: e.startedAt ?? nowIso, endedAt: nowIso, deadline: undefined, errorCode: 'UnknownError' as const, message } : e,
  );
  return skipRemaining(failed);
}

/** Events after a failure never run: they are recorded Skipped. */
export function skipRemaining(events: EventRecord[]): EventRecord[] {
  return events.map((e) => (e.status === 'Pending' ? { ...e, status: 'Skipped' } : e));
}
