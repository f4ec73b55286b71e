import { describe, expect, it } from 'vitest';
import { START_REPORT_DELAY_MS } from '../../agent/executor.js';
import { localAgentPrincipal } from '../../local/local-fleet.js';
import { waitFor } from '../../local/ports.js';
import { type BundleFile, script } from '../support/bundles.js';
import { usePushStack } from '../support/push-stack.js';

// The idle agent never polls on its own here (no safety poll, a 5-minute server interval): every request counted is the deployment's.
const { state, deploy, finished, http } = usePushStack({ agents: 1, pollSeconds: 300, agentArgs: ['--safety-poll-seconds', '0'] });

const SCRIPT_EVENTS = ['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];

/** Hooks that outlast the start report's wait (START_REPORT_DELAY_MS, with room for a busy machine): each start report goes on its own. */
const SLOW = `sleep ${(START_REPORT_DELAY_MS + 500) / 1000}`;

const bundle = (events: string[], extra = ''): BundleFile[] => [
  { path: 'appspec.yml', content: `version: 0.0\nos: linux\nhooks:\n${events.map((e) => `  ${e}:\n    - location: hook.sh\n`).join('')}` },
  { path: 'hook.sh', content: script(`echo "$LIFECYCLE_EVENT on $DEPLOYMENT_ID"\n${extra}`), mode: 0o755 },
];

/** Everything the agent sent: HTTP API requests by route, presigned S3 requests, channel connects and keep-alives. */
function counts() {
  const prefix = `${localAgentPrincipal(state.instanceIds[0] as string)} `;
  const api: Record<string, number> = {};
  for (const [key, n] of state.stack.requestsByRoute) if (key.startsWith(prefix)) api[key.slice(prefix.length)] = n;
  return { api, s3: Object.fromEntries(state.stack.s3PresignedRequests), channel: { ...state.stack.channel.counters } };
}

function difference(before: Record<string, number>, after: Record<string, number>) {
  return Object.fromEntries(Object.entries(after).map(([k, n]) => [k, n - (before[k] ?? 0)]).filter(([, n]) => n !== 0));
}

/** Deploys, waits until the agent is done with it (its own log line, after the log upload) and returns what it sent meanwhile. */
async function measured(events: string[], extra = '') {
  const before = counts();
  const deploymentId = await deploy(bundle(events, extra));
  expect((await finished(deploymentId)).status).toBe('Succeeded');
  const agent = state.agents[0] as (typeof state.agents)[number];
  await waitFor('the agent to finish the deployment', async () => agent.output().includes(`deployment ${deploymentId}: succeeded`), { timeoutMs: 30_000, intervalMs: 50 });
  const after = counts();
  const api = difference(before.api, after.api);
  const s3 = difference(before.s3, after.s3);
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  return { deploymentId, api, s3, total: sum(api) + sum(s3), keepalives: after.channel.keepalives - before.channel.keepalives, connects: after.channel.connects - before.channel.connects };
}

describe('requests an agent makes for one deployment', () => {
  it('scripts on all five script events: 1 poll and at most 6 reports to the API, 2 presigned S3 requests, nothing on the socket', async () => {
    // The host's first deployment: ApplicationStop has no earlier revision, so it costs nothing of its own.
    // Reports that pile up behind the one in flight go together, so fast hooks take fewer than one each.
    const first = await measured(SCRIPT_EVENTS);
    expect(Object.keys(first.api).sort()).toEqual(['POST /agent/v1/poll', 'POST /agent/v1/report']);
    expect(first.api['POST /agent/v1/poll']).toBe(1);
    expect(first.api['POST /agent/v1/report']).toBeGreaterThanOrEqual(1);
    expect(first.api['POST /agent/v1/report']).toBeLessThanOrEqual(5);
    expect(first.s3).toEqual({ GET: 1, PUT: 1 });

    // Now ApplicationStop runs the first revision's script too: every script event runs.
    const second = await measured(SCRIPT_EVENTS);
    expect(second.api['POST /agent/v1/poll']).toBe(1);
    expect(second.api['POST /agent/v1/report']).toBeLessThanOrEqual(6);
    expect(second.s3).toEqual({ GET: 1, PUT: 1 }); // the bundle download and the full log's upload
    expect(second.total).toBeLessThanOrEqual(9);
    expect({ keepalives: second.keepalives, connects: second.connects }).toEqual({ keepalives: 0, connects: 0 });

    const detail = (await http('GET', `/deployments/${second.deploymentId}/instances/${state.instanceIds[0]}`)).body;
    const statuses = Object.fromEntries(detail.events.map((e: { name: string; status: string }) => [e.name, e.status]));
    expect(statuses).toMatchObject({
      ApplicationStop: 'Succeeded', DownloadBundle: 'Succeeded', BeforeInstall: 'Succeeded', Install: 'Succeeded',
      AfterInstall: 'Succeeded', ApplicationStart: 'Succeeded', ValidateService: 'Succeeded',
    });
    // The last event's output is kept with it.
    expect(detail.events.find((e: { name: string }) => e.name === 'ValidateService').outputTail).toContain(`ValidateService on ${second.deploymentId}`);
  }, 180_000);

  it('scripts on all five events that each outlast the start report wait: every start report on its own, 9 requests in all', async () => {
    // The revision before has slow scripts too, so ApplicationStop runs one.
    await measured(SCRIPT_EVENTS, SLOW);
    const run = await measured(SCRIPT_EVENTS, SLOW);
    // 1 poll; 5 start reports (each carrying what finished before it, DownloadBundle and Install among them) and the final report; the bundle and the log.
    expect(run.api).toEqual({ 'POST /agent/v1/poll': 1, 'POST /agent/v1/report': 6 });
    expect(run.s3).toEqual({ GET: 1, PUT: 1 });
    expect(run.total).toBe(9);
    expect(run.total).toBeLessThanOrEqual(9);
    expect({ keepalives: run.keepalives, connects: run.connects }).toEqual({ keepalives: 0, connects: 0 });
  }, 180_000);

  it('events without scripts cost no request of their own: one slow script is 1 poll, its start report, the final report, the bundle and the log', async () => {
    // First a revision with the same single script, so the measured one has no ApplicationStop script to run either.
    await measured(['AfterInstall'], SLOW);
    const run = await measured(['AfterInstall'], SLOW);
    expect(run.api).toEqual({ 'POST /agent/v1/poll': 1, 'POST /agent/v1/report': 2 });
    expect(run.s3).toEqual({ GET: 1, PUT: 1 });
    expect(run.total).toBe(5);
    const detail = (await http('GET', `/deployments/${run.deploymentId}/instances/${state.instanceIds[0]}`)).body;
    const statuses = Object.fromEntries(detail.events.map((e: { name: string; status: string }) => [e.name, e.status]));
    expect(statuses).toMatchObject({
      ApplicationStop: 'Skipped', DownloadBundle: 'Succeeded', BeforeInstall: 'Skipped', Install: 'Succeeded',
      AfterInstall: 'Succeeded', ApplicationStart: 'Skipped', ValidateService: 'Skipped',
    });
  }, 120_000);
});
