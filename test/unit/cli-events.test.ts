import { describe, expect, it } from 'vitest';
import type { FleetlineApi } from '../../cli/api.js';
import { eventLine, printEvents, sinceTime } from '../../cli/events.js';

describe('fleetline events', () => {
  const now = Date.parse('2026-06-30T22:00:00.000Z');

  it('--since takes a duration back from now or an ISO time, and refuses anything else naming both forms', () => {
    expect(sinceTime('90s', now)).toBe('2026-06-30T21:58:30.000Z');
    expect(sinceTime('10m', now)).toBe('2026-06-30T21:50:00.000Z');
    expect(sinceTime('2h', now)).toBe('2026-06-30T20:00:00.000Z');
    expect(sinceTime('1d', now)).toBe('2026-06-29T22:00:00.000Z');
    expect(sinceTime('2026-06-30T23:00:00+01:00', now)).toBe('2026-06-30T22:00:00.000Z');
    for (const bad of ['yesterday', '10', '5w', '-1h', '']) expect(() => sinceTime(bad, now), bad).toThrow(/ISO time .* or a duration such as 90s, 10m, 2h or 1d/);
  });

  it('shows one event a line: time, what, state, and which deployment, group and instance, or execution, pipeline, stage and action', () => {
    expect(eventLine({
      time: '2026-06-30T22:06:31Z', source: 'aws.codedeploy', 'detail-type': 'CodeDeploy Instance State-change Notification',
      detail: { state: 'SUCCESS', deploymentId: 'd-ABCDEFGH1', application: 'web', deploymentGroup: 'prod', instanceId: 'i-1', instanceGroupId: 'g-1', region: 'us-east-1' },
    })).toBe('2026-06-30T22:06:31Z  Instance    SUCCESS     d-ABCDEFGH1 web/prod i-1');
    expect(eventLine({
      time: '2026-06-30T22:06:31Z', source: 'aws.codepipeline', 'detail-type': 'CodePipeline Action Execution State Change',
      detail: { state: 'STARTED', 'execution-id': 'e-0123456789abcdef', pipeline: 'shop', version: 1, stage: 'Prod', action: 'deploy-1' },
    })).toBe('2026-06-30T22:06:31Z  Action      STARTED     e-0123456789abcdef shop Prod deploy-1');
    expect(eventLine({
      time: '2026-06-30T22:06:31Z', source: 'aws.codepipeline', 'detail-type': 'CodePipeline Pipeline Execution State Change',
      detail: { state: 'SUCCEEDED', 'execution-id': 'e-0123456789abcdef', pipeline: 'shop', version: 1 },
    })).toBe('2026-06-30T22:06:31Z  Pipeline    SUCCEEDED   e-0123456789abcdef shop');
  });

  it('--follow ends when stopped (Ctrl-C), during its wait between requests, without asking again', async () => {
    const stop = new AbortController();
    let requests = 0;
    const api = { all: async () => (++requests === 1 && setTimeout(() => stop.abort(), 50), []) } as unknown as FleetlineApi;
    const started = Date.now();
    await printEvents(api, 'table', { follow: true }, stop.signal);
    expect(requests).toBe(1);
    // Well within the 2 s it waits between requests.
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
