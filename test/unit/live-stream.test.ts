import { describe, expect, it, vi } from 'vitest';
import { LiveStream } from '../../agent/live-stream.js';
import { LIVE_LOG, liveChunkRequestSchema } from '../../lib/domain/live-log.js';

type Sent = { seq: number; text: string };

/** A server stand-in: answers each chunk with what `answer` says, and records what came. */
function server(answer: (sent: Sent) => { status: number; body: unknown } = () => ({ status: 200, body: { following: true, followSeconds: 30 } })) {
  const sent: Sent[] = [];
  const post = vi.fn(async (body: unknown) => {
    // Every chunk the agent sends passes the server's own schema.
    const parsed = liveChunkRequestSchema.parse(body);
    sent.push({ seq: parsed.seq, text: parsed.text });
    return answer(parsed);
  });
  return { sent, post };
}

const stream = (post: ReturnType<typeof server>['post']) => new LiveStream({ instanceId: 'i-1', deploymentId: 'd-ABCDEFGHI', post, flushMs: 0 });

describe('the agent streams a hook\'s output only while someone follows', () => {
  it('sends nothing while nobody follows; a follow sends what it holds, then what comes, in order', async () => {
    const { sent, post } = server();
    const live = stream(post);
    live.add('one\n');
    live.add('two\n');
    await new Promise((r) => setImmediate(r));
    expect(post).not.toHaveBeenCalled();
    live.follow(30);
    await vi.waitFor(() => expect(sent.map((s) => s.text).join('')).toBe('one\ntwo\n'));
    live.add('three\n');
    await vi.waitFor(() => expect(sent.map((s) => s.text).join('')).toBe('one\ntwo\nthree\n'));
    expect(sent.map((s) => s.seq)).toEqual(sent.map((_, i) => i));
  });

  it('keeps only the last backlogBytes while nobody follows, and says that earlier output is in the full log', async () => {
    const { sent, post } = server();
    const live = stream(post);
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 40; i++) live.add(line);
    live.follow(30);
    await live.finish();
    const text = sent.map((s) => s.text).join('');
    expect(text.startsWith('[fleetline-agent] (earlier output is not shown live: it is in the full log)\n')).toBe(true);
    expect(text.split(line).length - 1).toBe(LIVE_LOG.backlogBytes / 1024);
  });

  it('stops at once when the answer says nobody follows any more, and for good when the server refuses (409)', async () => {
    let following = true;
    const { sent, post } = server(() => ({ status: 200, body: { following, followSeconds: following ? 30 : 0 } }));
    const live = stream(post);
    live.follow(30);
    live.add('a\n');
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    following = false;
    live.add('b\n');
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    expect(live.following).toBe(false);
    live.add('c\n');
    await live.finish();
    expect(sent.map((s) => s.text)).toEqual(['a\n', 'b\n']);

    const refused = server(() => ({ status: 409, body: { error: { message: 'Instance i-1 is not running deployment d-ABCDEFGHI' } } }));
    const ended = stream(refused.post);
    ended.follow(30);
    ended.add('x\n');
    await vi.waitFor(() => expect(refused.sent).toHaveLength(1));
    ended.follow(30);
    ended.add('y\n');
    await ended.finish();
    expect(refused.sent).toHaveLength(1);
  });

  it('a server error or an unreachable server keeps the output, and it goes again under the same number', async () => {
    let fail = true;
    const { sent, post } = server(() => (fail ? { status: 503, body: {} } : { status: 200, body: { following: true, followSeconds: 30 } }));
    const live = stream(post);
    live.follow(30);
    live.add('kept\n');
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    fail = false;
    live.add('more\n');
    await live.finish();
    expect(sent.map((s) => [s.seq, s.text])).toEqual([
      [0, 'kept\n'],
      [0, 'kept\nmore\n'],
    ]);
  });

  it('splits a line longer than a chunk, each part within the bound', async () => {
    const { sent, post } = server();
    const live = stream(post);
    live.follow(30);
    live.add(`${'€'.repeat(10_000)}\n`);
    await live.finish();
    expect(sent.length).toBeGreaterThan(1);
    for (const s of sent) expect(Buffer.byteLength(s.text)).toBeLessThanOrEqual(LIVE_LOG.maxChunkBytes);
    expect(sent.map((s) => s.text).join('')).toBe(`${'€'.repeat(10_000)}\n`);
  });
});
