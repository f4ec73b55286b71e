import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localAgentPrincipal } from '../../local/local-fleet.js';
import { waitFor } from '../../local/ports.js';
import { script } from '../support/bundles.js';
import { buildTestCli } from '../support/cli-process.js';
import { usePushStack } from '../support/push-stack.js';

// Agents on the channel, idle polls every 5 minutes: only pushes move them.
const { state, http, deploy, finished } = usePushStack({ agents: 1, pollSeconds: 300 });
let cli: Awaited<ReturnType<typeof buildTestCli>> | undefined;
beforeAll(async () => {
  cli = await buildTestCli();
}, 120_000);
afterAll(() => cli?.remove());

/** A hook that prints a line, waits until the test opens its gate (a file), prints another and exits with `code`. */
function gatedBundle(gate: string, code = 0) {
  const body = [
    'echo "first line from $LIFECYCLE_EVENT"',
    `while [ ! -f ${JSON.stringify(gate)} ]; do sleep 0.05; done`,
    'echo "second line" >&2',
    `exit ${code}`,
  ].join('\n');
  return [
    { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: slow.sh\n      timeout: 300\n' },
    { path: 'slow.sh', content: script(body), mode: 0o755 },
  ];
}

/** `fleetline logs … --follow` as a process whose output the test reads as it comes. */
function follow(deploymentId: string, instanceId: string) {
  const child: ChildProcess = spawn(process.execPath, [cli!.file, '--api', state.stack.apiUrl, 'logs', deploymentId, instanceId, '--follow'], {
    env: { ...process.env, FLEETLINE_API: '', FLEETLINE_STATE_DIR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { stdout: () => stdout, stderr: () => stderr, exited, kill: () => child.kill() };
}

const instanceStatus = async (deploymentId: string, instanceId: string) => (await http('GET', `/deployments/${deploymentId}/instances/${instanceId}`)).body.status;

describe('fleetline logs --follow against a real agent', () => {
  it('shows a running hook\'s output while it runs, and ends with the instance (exit 0 on success)', async () => {
    const gate = join(state.dir, 'gate-success');
    const instanceId = state.instanceIds[0] as string;
    const deploymentId = await deploy(gatedBundle(gate));
    const follower = follow(deploymentId, instanceId);
    try {
      await waitFor('the first line on the follower', async () => follower.stdout().includes('first line from ApplicationStart'), { timeoutMs: 60_000, intervalMs: 20 });
      // Seen live: the hook is still held at its gate, and the instance still runs.
      expect(existsSync(gate)).toBe(false);
      expect(await instanceStatus(deploymentId, instanceId)).toBe('InProgress');
      expect(follower.stdout()).not.toContain('second line');
      expect(follower.stdout()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[stdout\]first line from ApplicationStart$/m);
      writeFileSync(gate, '');
      expect(await follower.exited).toBe(0);
    } finally {
      follower.kill();
    }
    expect(follower.stdout()).toMatch(/\[stderr\]second line/);
    expect(follower.stdout().indexOf('first line')).toBeLessThan(follower.stdout().indexOf('second line'));
    expect(follower.stderr()).toContain(`${instanceId}: Succeeded`);
    expect((await finished(deploymentId)).status).toBe('Succeeded');
    expect(state.agents[0]!.output()).toContain(`deployment ${deploymentId}: someone follows its log; streaming the output`);
  }, 120_000);

  it('exits 1 naming the event and exit code when the instance fails', async () => {
    const gate = join(state.dir, 'gate-failure');
    const instanceId = state.instanceIds[0] as string;
    const deploymentId = await deploy(gatedBundle(gate, 4));
    const follower = follow(deploymentId, instanceId);
    try {
      await waitFor('the first line on the follower', async () => follower.stdout().includes('first line from ApplicationStart'), { timeoutMs: 60_000, intervalMs: 20 });
      writeFileSync(gate, '');
      expect(await follower.exited).toBe(1);
    } finally {
      follower.kill();
    }
    expect(follower.stdout()).toContain('second line');
    expect(follower.stderr()).toMatch(new RegExp(`${instanceId}: Failed at ApplicationStart \\(ScriptFailed, exit code 4\\)`));
  }, 120_000);

  it('with nobody following, the agent sends no output and is pushed nothing but the work', async () => {
    const gate = join(state.dir, 'gate-alone');
    const instanceId = state.instanceIds[0] as string;
    const pushesBefore = state.stack.channel.counters.pushes;
    const chunkRoute = `${localAgentPrincipal(instanceId)} POST /agent/v1/log`;
    const chunksBefore = state.stack.requestsByRoute.get(chunkRoute) ?? 0;
    const deploymentId = await deploy(gatedBundle(gate));
    await waitFor('the hook to start', async () => state.agents[0]!.output().includes(`deployment ${deploymentId}: starting`) && (await instanceStatus(deploymentId, instanceId)) === 'InProgress', {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    writeFileSync(gate, '');
    expect((await finished(deploymentId)).status).toBe('Succeeded');
    expect(state.stack.channel.counters.pushes - pushesBefore).toBe(1); // the dispatch wake-up
    expect(state.stack.requestsByRoute.get(chunkRoute) ?? 0).toBe(chunksBefore);
    expect(state.agents[0]!.output()).not.toContain(`deployment ${deploymentId}: someone follows`);
    const live = await http('GET', `/deployments/${deploymentId}/instances/${instanceId}/log`);
    expect(live.body).toMatchObject({ chunks: [], cursor: -1, ended: true });
  }, 120_000);
});
