import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../lib/logger.js';
import { useApi } from '../support/api-harness.js';
import { agentPrincipal } from '../support/scripted-agent.js';

const api = useApi();
afterEach(() => vi.restoreAllMocks());

/** The levels 'Request completed' was logged at. */
function completions() {
  const info = vi.spyOn(logger, 'info');
  const debug = vi.spyOn(logger, 'debug');
  const levels = (spy: typeof info) => spy.mock.calls.filter(([message]) => message === 'Request completed').length;
  return () => ({ info: levels(info), debug: levels(debug) });
}

describe('request logging', () => {
  it('logs an idle agent check-in that found nothing at DEBUG, every other outcome at INFO', async () => {
    const seen = completions();
    const idle = await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'quiet-1' }, principal: agentPrincipal('quiet-1') });
    expect(idle.status).toBe(200);
    expect(idle.body.assignment).toBeNull();
    expect(seen()).toEqual({ info: 0, debug: 1 });
    expect((await api.call('GET', '/health')).status).toBe(200);
    expect(seen()).toEqual({ info: 1, debug: 1 });
  });
});
