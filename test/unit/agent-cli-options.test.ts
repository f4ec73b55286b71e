import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../agent/cli-options.js';

const run = (...extra: string[]) => parseAgentArgs(['run', '--api', 'https://api.example.com', ...extra]);

describe('the agent safety poll', () => {
  it('polls hourly while the channel is up, unless told otherwise (0 = never)', () => {
    expect(run().safetyPollSeconds).toBe(3600);
    expect(run('--safety-poll-seconds', '900').safetyPollSeconds).toBe(900);
    expect(run('--safety-poll-seconds', '0').safetyPollSeconds).toBe(0);
  });
});
