import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FleetlineApi } from '../cli/api.js';
import { followLog } from '../cli/follow-log.js';
import { LOCAL_CREDENTIALS } from '../local/dynamodb-local.js';
import { localAgentPrincipal } from '../local/local-fleet.js';
import { freePort, waitFor } from '../local/ports.js';
import { startLocalStack } from '../local/stack.js';
import { script, zipBundle } from '../test/support/bundles.js';
import { type Figure, printFigure } from './figure.js';

const LINES = 25;
const INTERVAL_MS = 200;

/**
 * Live logs (docs/live-logs.md): a real local agent on the control channel runs a
 * hook that prints a line stamped with the time it was written every 200 ms;
 * `fleetline logs --follow`'s own loop (cli/follow-log.ts) follows it from the
 * moment the deployment is created. Figures: how long after the hook wrote a line
 * the follower had it (median, worst), from the follower's start to its first
 * line, and the agent's chunk requests per second of output.
 */
export async function benchLiveLogs(): Promise<Figure[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-bench-live-'));
  const stack = await startLocalStack({
    apiPort: await freePort(),
    s3Port: await freePort(),
    dynamoDbPort: await freePort(),
    stateDir,
    persist: false,
    agents: 1,
  });
  const s3 = new S3Client({ endpoint: stack.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.apiUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const figures: Figure[] = [];
  try {
    await call('PUT', '/applications/bench');
    await call('PUT', '/applications/bench/groups/live', { targets: { onPremisesTagSet: [[{ key: 'fleet', value: 'local', type: 'KEY_AND_VALUE' }]] } });
    await waitFor('the agent on the channel', async () => stack.channel.connectionCount() === 1, { timeoutMs: 120_000, intervalMs: 100 });
    // Each line carries the wall-clock milliseconds at which the hook wrote it.
    const hook = `for i in $(seq 1 ${LINES}); do echo "tick $(date +%s%3N)"; sleep ${INTERVAL_MS / 1000}; done`;
    const bundle = await zipBundle([
      { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: ticks.sh\n' },
      { path: 'ticks.sh', content: script(hook), mode: 0o755 },
    ]);
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'bench/live.zip', Body: bundle }));
    const created = await call('POST', '/deployments', { application: 'bench', group: 'live', revision: { bucket: stack.bucket, key: 'bench/live.zip' } });
    if (created.status !== 201) throw new Error(`POST /deployments: HTTP ${created.status} ${JSON.stringify(created.body)}`);
    const deploymentId = created.body.deploymentId as string;
    const instanceId = stack.agentIds[0] as string;

    const delays: number[] = [];
    const followStarted = Date.now();
    let firstLineAt: number | undefined;
    let pending = '';
    const { status } = await followLog(
      new FleetlineApi({ apiUrl: stack.apiUrl }),
      deploymentId,
      instanceId,
      (text) => {
        const now = Date.now();
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const tick = /\[stdout\]tick (\d+)$/.exec(line);
          if (!tick) continue;
          firstLineAt ??= now;
          delays.push(now - Number(tick[1]));
        }
      },
      () => undefined,
    );
    if (status !== 'Succeeded') throw new Error(`the followed instance ended ${status}`);
    if (delays.length !== LINES) throw new Error(`the follower saw ${delays.length} of ${LINES} lines`);
    // The first lines may have been held back until the follow reached the agent: the steady state is after them.
    const steady = delays.slice(5).sort((a, b) => a - b);
    const chunks = [...stack.requestsByRoute.entries()]
      .filter(([key]) => key === `${localAgentPrincipal(instanceId)} POST /agent/v1/log`)
      .reduce((n, [, count]) => n + count, 0);
    figures.push(printFigure({ bench: 'live-logs', metric: 'ms_line_written_to_shown_median', value: steady[Math.floor(steady.length / 2)] as number, unit: 'ms', n: steady.length }));
    figures.push(printFigure({ bench: 'live-logs', metric: 'ms_line_written_to_shown_worst', value: steady.at(-1) as number, unit: 'ms', n: steady.length }));
    figures.push(printFigure({ bench: 'live-logs', metric: 'ms_follow_start_to_first_line', value: (firstLineAt as number) - followStarted, unit: 'ms' }));
    figures.push(printFigure({ bench: 'live-logs', metric: 'chunk_requests_per_second_of_output', value: Math.round((chunks / ((LINES * INTERVAL_MS) / 1000)) * 100) / 100, unit: 'requests/s', n: chunks }));
    return figures;
  } finally {
    s3.destroy();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
