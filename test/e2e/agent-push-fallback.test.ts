import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { script } from '../support/bundles.js';
import { usePushStack } from '../support/push-stack.js';

// Without the channel, agents poll every second (the local default).
const { state, deploy, finished } = usePushStack({ agents: 2, pollSeconds: 1, agentArgs: ['--safety-poll-seconds', '0'] });

describe('when the control channel dies mid-deployment', () => {
  it('agents fall back to polling and the deployment still completes', async () => {
    const marker = join(state.dir, 'first-hook-started');
    const deploymentId = await deploy([
      { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hook.sh\n' },
      { path: 'hook.sh', content: script(`touch ${JSON.stringify(marker)}\nsleep 2`), mode: 0o755 },
    ]);
    await waitFor('the first host to run its hook', async () => existsSync(marker), { timeoutMs: 60_000, intervalMs: 50 });
    // The WebSocket API goes away: every connection drops and reconnects are refused.
    state.stack.channel.setAvailable(false);
    state.stack.channel.dropAll();
    const pushesBefore = state.stack.channel.counters.pushes;
    const deployment = await finished(deploymentId);
    expect(deployment.status).toBe('Succeeded');
    expect(state.stack.channel.connectionCount()).toBe(0);
    // The second host got its work without any push reaching it.
    expect(state.stack.channel.counters.pushes).toBe(pushesBefore);
    state.stack.channel.setAvailable(true);
  }, 120_000);
});
