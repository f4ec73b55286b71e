import { describe, expect, it } from 'vitest';
import { script } from '../support/bundles.js';
import { usePushStack } from '../support/push-stack.js';

// Idle agents would poll every 5 minutes, and never while their channel is up: only pushes can move this deployment.
const { state, deploy, finished } = usePushStack({ agents: 2, pollSeconds: 300, agentArgs: ['--safety-poll-seconds', '0'] });

describe('work pushed over the control channel', () => {
  it('a OneAtATime deployment completes on pushes alone, with polling disabled, to agents that learned the channel from the API', async () => {
    const before = { ...state.stack.channel.counters };
    const deploymentId = await deploy([
      { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hook.sh\n' },
      { path: 'hook.sh', content: script('echo "ran on $DEPLOYMENT_ID"'), mode: 0o755 },
    ]);
    const deployment = await finished(deploymentId);
    expect(deployment.status).toBe('Succeeded');
    expect(deployment.counts.succeeded).toBe(2);
    // One wake-up per instance dispatched; the channel never went down.
    expect(state.stack.channel.counters.pushes - before.pushes).toBe(2);
    expect(state.stack.channel.connectionCount()).toBe(2);
    // Started without --channel: each agent opened the channel the API named in its first poll answer.
    for (const agent of state.agents) expect(agent.output()).toContain(`control channel ${JSON.stringify(state.stack.channelUrl)} (named by the server)`);
  }, 90_000);
});
