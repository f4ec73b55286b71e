import { ApiError, call } from './api.js';
import { badge, h } from './dom.js';

/** How long the page waits before reading again after a failed read (it doubles, to a minute). */
const RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

/**
 * Screen 4: an instance's hook output, live while it runs (it follows, so the
 * agent streams), filtered as you type; the full log one link away once it ends.
 * `stillShown` tells the loop when the person has left the screen. A read that
 * fails (the host has not started, the network) is tried again, further apart.
 */
export async function hostLogScreen(deploymentId: string, instanceId: string, stillShown: () => boolean): Promise<Node> {
  const lines: string[] = [];
  const output = h('pre', { class: 'log', role: 'log', 'data-testid': 'log' });
  const filter = h('input', { id: 'log-filter', type: 'search', placeholder: 'text to find' });
  const state = h('span', { 'data-testid': 'log-state' }, 'reading…');
  const note = h('p', { role: 'status' });
  const links = h('span', {});
  const matches = (line: string) => line.toLowerCase().includes(filter.value.toLowerCase());
  const showAll = () => {
    output.textContent = lines.filter(matches).join('\n');
  };
  // New lines are added at the end (the text already shown, and what is selected in it, stay).
  const add = (added: string[]) => {
    const shown = added.filter(matches);
    lines.push(...added);
    if (shown.length > 0) output.append(`${output.textContent ? '\n' : ''}${shown.join('\n')}`);
  };
  filter.addEventListener('input', showAll);

  const ended = async () => {
    const detail = await call('getDeploymentInstance', { id: deploymentId, instanceId });
    // Nothing was streamed (it ended before anyone followed): the events' output tails.
    if (lines.length === 0) add(detail.events.flatMap((e) => (e.outputTail ? [`# ${e.name}`, ...e.outputTail.replace(/\n$/, '').split('\n')] : [])));
    if (detail.logUrl) links.replaceChildren(h('a', { href: detail.logUrl }, 'The full log'));
  };

  const follow = async (cursor: number, failures: number): Promise<void> => {
    if (!stillShown()) return;
    let next: { cursor: number; waitMs: number } | undefined;
    try {
      const answer = await call('getDeploymentInstanceLog', { id: deploymentId, instanceId, cursor, follow: 'true' });
      note.textContent = '';
      failures = 0;
      add(answer.chunks.flatMap((c) => c.text.replace(/\n$/, '').split('\n')));
      state.replaceChildren(badge(answer.instanceStatus));
      if (answer.ended && !answer.more) return await ended();
      next = { cursor: answer.cursor, waitMs: answer.more ? 0 : Math.max(answer.pollAfterMs, 250) };
    } catch (error) {
      const waiting = error instanceof ApiError && error.status === 404;
      note.textContent = waiting
        ? `${instanceId} has no output yet (its deployment has not reached it); waiting.`
        : `Could not read the log: ${error instanceof Error ? error.message : String(error)}. Trying again.`;
      next = { cursor, waitMs: Math.min(RETRY_MS * 2 ** failures, MAX_RETRY_MS) };
      failures++;
    }
    const { cursor: at, waitMs } = next;
    setTimeout(() => void follow(at, failures), waitMs);
  };
  await follow(-1, 0);

  return h(
    'section',
    { 'aria-labelledby': 'log-title' },
    h('p', {}, h('a', { href: `#/deployments/${encodeURIComponent(deploymentId)}` }, `← Deployment ${deploymentId}`)),
    h('h1', { id: 'log-title' }, `${instanceId} `, state),
    note,
    h('p', {}, h('label', { for: 'log-filter' }, 'Find in log '), filter, ' ', links),
    output,
  );
}
