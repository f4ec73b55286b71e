import { describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { script } from '../support/bundles.js';
import { usePushStack } from '../support/push-stack.js';

// Work not picked up is pushed again after a third of the start timeout (10 s here).
process.env.AGENT_START_TIMEOUT_SECONDS = '30';
// The agent never polls on its own while its channel is up: only pushes can start its work.
const { state, deploy, finished, http } = usePushStack({ agents: 1, pollSeconds: 300, agentArgs: ['--safety-poll-seconds', '0'] });

describe('a wake-up lost while the socket stays up', () => {
  it('is pushed again by the reconciler, and the deployment completes without any poll', async () => {
    const instanceId = state.instanceIds[0] as string;
    const channel = state.stack.channel;
    channel.losePushes(1);
    const pushesBefore = channel.counters.pushes;
    const deploymentId = await deploy([
      { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hook.sh\n' },
      { path: 'hook.sh', content: script('echo "ran on $DEPLOYMENT_ID"'), mode: 0o755 },
    ]);
    await waitFor('the wake-up to be sent (and lost)', async () => channel.counters.pushes > pushesBefore, { timeoutMs: 30_000, intervalMs: 50 });
    const dispatchedAt = Date.now();
    // Right away the reconciler leaves it alone: the agent may still be on its way.
    await state.stack.reconcile();
    const detail = async () => (await http('GET', `/deployments/${deploymentId}/instances/${instanceId}`)).body;
    if (Date.now() - dispatchedAt < 9_000) {
      expect(channel.counters.pushes).toBe(pushesBefore + 1);
      expect((await detail()).acknowledgedAt).toBeUndefined();
    }

    // Once the work has waited a third of the start timeout, a reconciler pass pushes it again.
    await waitFor('the reconciler to push the work again', async () => {
      await state.stack.reconcile();
      return channel.counters.pushes > pushesBefore + 1;
    }, { timeoutMs: 25_000, intervalMs: 1000 });
    const deployment = await finished(deploymentId);
    expect(deployment.status).toBe('Succeeded');
    expect((await detail()).events.find((e: { name: string }) => e.name === 'AfterInstall').status).toBe('Succeeded');
    expect(channel.connectionCount()).toBe(1);
  }, 120_000);
});
