import { call } from './api.js';
import { badge, h } from './dom.js';

/**
 * Screen 4: an instance's hook output, live while it runs (it follows, so the
 * agent streams), filtered as you type; the full log one link away once it ends.
 * `stillShown` tells the loop when the person has left the screen.
 */
export async function hostLogScreen(deploymentId: string, instanceId: string, stillShown: () => boolean): Promise<Node> {
  const lines: string[] = [];
  const output = h('pre', { class: 'log', 'aria-live': 'polite', 'data-testid': 'log' });
  const filter = h('input', { id: 'log-filter', type: 'search', placeholder: 'text to find' });
  const state = h('span', { 'data-testid': 'log-state' }, 'reading…');
  const links = h('span', {});
  const show = () => {
    const wanted = filter.value.toLowerCase();
    output.textContent = lines.filter((line) => line.toLowerCase().includes(wanted)).join('\n');
  };
  filter.addEventListener('input', show);

  const follow = async (cursor: number): Promise<void> => {
    if (!stillShown()) return;
    const answer = await call('getDeploymentInstanceLog', { id: deploymentId, instanceId, cursor, follow: 'true' });
    lines.push(...answer.chunks.flatMap((c) => c.text.replace(/\n$/, '').split('\n')));
    show();
    state.replaceChildren(badge(answer.instanceStatus));
    if (answer.ended && !answer.more) {
      const detail = await call('getDeploymentInstance', { id: deploymentId, instanceId });
      if (lines.length === 0) {
        // Nothing was streamed (it ended before anyone followed): the events' output tails.
        lines.push(...detail.events.flatMap((e) => (e.outputTail ? [`# ${e.name}`, ...e.outputTail.replace(/\n$/, '').split('\n')] : [])));
        show();
      }
      if (detail.logUrl) links.replaceChildren(h('a', { href: detail.logUrl, download: `${deploymentId}-${instanceId}.log` }, 'Download the full log'));
      return;
    }
    setTimeout(() => void follow(answer.cursor), answer.more ? 0 : Math.max(answer.pollAfterMs, 250));
  };
  await follow(-1);

  return h(
    'section',
    { 'aria-labelledby': 'log-title' },
    h('p', {}, h('a', { href: `#/deployments/${encodeURIComponent(deploymentId)}` }, `← Deployment ${deploymentId}`)),
    h('h1', { id: 'log-title' }, `${instanceId} `, state),
    h('p', {}, h('label', { for: 'log-filter' }, 'Find in log '), filter, ' ', links),
    output,
  );
}
