import { describe, expect, it } from 'vitest';
import { type AgentReport, applyReport } from '../../lib/domain/agent-report.js';
import type { InstanceDeployment } from '../../lib/domain/deployment.js';
import { LIFECYCLE_EVENTS } from '../../lib/domain/lifecycle.js';

const now = new Date('2026-11-22T10:00:00.000Z');
const instance = (statuses: InstanceDeployment['events'][number]['status'][]): InstanceDeployment => ({
  deploymentId: 'd-ABCDEFGHI',
  instanceId: 'i-1',
  source: 'registered',
  status: 'InProgress',
  version: 3,
  events: LIFECYCLE_EVENTS.map((name, i) => ({ name, status: statuses[i] ?? 'Pending' })),
});
const report = (event: AgentReport['event'], status: AgentReport['status'], extra: Partial<AgentReport> = {}): AgentReport => ({
  instanceId: 'i-1',
  deploymentId: 'd-ABCDEFGHI',
  event,
  status,
  ...extra,
});

describe('applying an agent report', () => {
  it('starts the next event and sets its deadline from the hook timeouts', () => {
    const out = applyReport(instance(['Succeeded']), report('DownloadBundle', 'InProgress', { timeoutSeconds: 30 }), now, false);
    expect(out.kind).toBe('applied');
    if (out.kind !== 'applied') return;
    expect(out.instanceStatus).toBe('InProgress');
    expect(out.events[1]).toMatchObject({ status: 'InProgress', startedAt: now.toISOString(), deadline: '2026-11-22T10:01:30.000Z' });
  });

  it('treats a repeat of what is recorded as a duplicate', () => {
    expect(applyReport(instance(['Succeeded']), report('ApplicationStop', 'Succeeded'), now, false)).toEqual({ kind: 'duplicate' });
  });

  it('refuses an event reported before the ones ahead of it finished', () => {
    const out = applyReport(instance(['Succeeded']), report('Install', 'Succeeded'), now, false);
    expect(out).toEqual({ kind: 'conflict', reason: 'DownloadBundle has not finished yet (it is Pending)' });
  });

  it('refuses to change a finished event', () => {
    const out = applyReport(instance(['Succeeded', 'Failed']), report('DownloadBundle', 'Succeeded'), now, false);
    expect(out.kind).toBe('conflict');
  });

  it('refuses reports for an instance that already ended', () => {
    const ended = { ...instance(['Succeeded']), status: 'Unknown' as const };
    expect(applyReport(ended, report('DownloadBundle', 'InProgress'), now, false)).toMatchObject({ kind: 'conflict' });
  });

  it('fails the instance on a failed event, with UnknownError when no code is given', () => {
    const out = applyReport(instance(['Succeeded', 'Succeeded', 'InProgress']), report('BeforeInstall', 'Failed', { exitCode: 3 }), now, false);
    expect(out).toMatchObject({ kind: 'applied', instanceStatus: 'Failed' });
    if (out.kind === 'applied') expect(out.events[2]).toMatchObject({ status: 'Failed', exitCode: 3, errorCode: 'UnknownError' });
  });

  it('lets a failed ApplicationStop pass when the group ignores those failures', () => {
    const out = applyReport(instance([]), report('ApplicationStop', 'Failed', { errorCode: 'ScriptFailed' }), now, true);
    expect(out).toMatchObject({ kind: 'applied', instanceStatus: 'InProgress' });
  });

  it('succeeds the instance when the last event succeeds', () => {
    const statuses = LIFECYCLE_EVENTS.map(() => 'Succeeded' as const).slice(0, -1);
    const out = applyReport(instance([...statuses, 'InProgress']), report('ValidateService', 'Succeeded'), now, false);
    expect(out).toMatchObject({ kind: 'applied', instanceStatus: 'Succeeded' });
  });
});
