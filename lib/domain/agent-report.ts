import { z } from 'zod';
import type { EventRecord, InstanceDeployment } from './deployment.js';
import { ERROR_CODES, LIFECYCLE_EVENTS, OUTPUT_TAIL_BYTES } from './lifecycle.js';
import { nameSchema } from './names.js';

const isoTime = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 timestamp' });

export const agentReportSchema = z.strictObject({
  instanceId: nameSchema,
  deploymentId: z.string().regex(/^d-[A-Z0-9]{9}$/, 'must be a deployment ID (d-XXXXXXXXX)'),
  event: z.enum(LIFECYCLE_EVENTS, { error: `must be one of ${LIFECYCLE_EVENTS.join(', ')}` }),
  status: z.enum(['InProgress', 'Succeeded', 'Failed', 'Skipped'], { error: 'must be InProgress, Succeeded, Failed or Skipped' }),
  startedAt: isoTime.optional(),
  endedAt: isoTime.optional(),
  exitCode: z.number().int().nullable().optional(),
  errorCode: z.enum(ERROR_CODES, { error: `must be one of ${ERROR_CODES.join(', ')}` }).optional(),
  message: z.string().max(2048, 'must be at most 2048 characters').optional(),
  outputTail: z
    .string()
    .refine((s) => Buffer.byteLength(s) <= OUTPUT_TAIL_BYTES, `must be at most ${OUTPUT_TAIL_BYTES} bytes`)
    .optional(),
  /** For InProgress: how long the event may run (the sum of its scripts' timeouts). */
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
});
export type AgentReport = z.output<typeof agentReportSchema>;

/** Extra time the server allows past an event's own timeout before declaring it timed out. */
export const DEADLINE_GRACE_SECONDS = 60;

export type ReportOutcome =
  | { kind: 'duplicate' }
  | { kind: 'conflict'; reason: string }
  | { kind: 'applied'; events: EventRecord[]; instanceStatus: 'InProgress' | 'Succeeded' | 'Failed' };

const DONE = new Set(['Succeeded', 'Skipped', 'Failed']);

/**
 * Applies one agent report to an instance's state. Pure: the caller writes the
 * result conditionally on the version it read. A repeat of what is already
 * recorded is a duplicate (no change); anything out of order is a conflict.
 */
export function applyReport(
  instance: InstanceDeployment,
  report: AgentReport,
  now: Date,
  ignoreApplicationStopFailures: boolean,
): ReportOutcome {
  const index = instance.events.findIndex((e) => e.name === report.event);
  const current = instance.events[index];
  if (!current) return { kind: 'conflict', reason: `${report.event} is not an event of this assignment` };
  if (current.status === report.status) return { kind: 'duplicate' };
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
  return { kind: 'applied', events, instanceStatus: allDone ? 'Succeeded' : 'InProgress' };
}

/** Events after a failure never run: they are recorded Skipped. */
export function skipRemaining(events: EventRecord[]): EventRecord[] {
  return events.map((e) => (e.status === 'Pending' ? { ...e, status: 'Skipped' } : e));
}
