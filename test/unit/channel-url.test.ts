import { describe, expect, it } from 'vitest';
import { channelUrlProblem, shownChannelUrl } from '../../lib/domain/channel-url.js';

describe('which control channel URLs an agent opens', () => {
  it('opens wss:// anywhere and ws:// only to this machine', () => {
    for (const ok of ['wss://abc123.execute-api.eu-west-1.amazonaws.com/prod', 'ws://127.0.0.1:3000/channel', 'ws://127.9.8.7/channel', 'ws://localhost:3000/channel', 'ws://[::1]:3000/channel']) {
      expect(channelUrlProblem(ok), ok).toBeUndefined();
    }
  });

  it('refuses plain ws:// off this machine, other schemes, credentials and what is not a URL', () => {
    expect(channelUrlProblem('ws://198.51.100.7/channel')).toMatch(/loopback/);
    expect(channelUrlProblem('ws://127.0.0.1.example.com/channel')).toMatch(/loopback/);
    expect(channelUrlProblem('ws://localhost.example.com/channel')).toMatch(/loopback/);
    expect(channelUrlProblem('http://127.0.0.1:3000/channel')).toBe('http:// is not wss://');
    expect(channelUrlProblem('https://abc123.execute-api.eu-west-1.amazonaws.com/prod')).toBe('https:// is not wss://');
    expect(channelUrlProblem('wss://agent:secret@example.com/prod')).toBe('it carries credentials');
    expect(channelUrlProblem('wss://example.com/prod#x')).toBe('it has a fragment');
    expect(channelUrlProblem('not a url')).toBe('not a URL');
    expect(channelUrlProblem(`wss://example.com/${'a'.repeat(3000)}`)).toMatch(/longer than/);
  });

  it('shows a URL in logs without its credentials or query', () => {
    expect(shownChannelUrl('ws://agent:hunter2@127.0.0.1:3000/channel?token=abc')).toBe('"ws://127.0.0.1:3000/channel"');
    expect(shownChannelUrl('%%%')).toBe('(3 characters, not a URL)');
  });
});
