import type { Answer, Item } from '../../lib/api/operation-types.js';
import { describeFailure } from '../../lib/domain/failure-cause.js';
import { actionButton } from './action-button.js';
import { all, call } from './api.js';
import { badge, h, time } from './dom.js';

type Deployment = Answer<'getDeployment'>;
type Target = Item<'listDeploymentInstances'>;
type Detail = Answer<'getDeploymentInstance'>;

const ACTIVE = new Set(['Created', 'Queued', 'InProgress']);
/** Hosts whose events are loaded at once: the failed ones, up to this many; others on demand. */
const EAGER_DETAILS = 20;

export const isActive = (d: Deployment) => ACTIVE.has(d.status);

/** The one line a person acts on: the first failure (host, event, script, exit code), or why it ended. */
export function failureLine(d: Deployment, targets: Target[]): string | undefined {
  if (d.error?.cause) return describeFailure(d.error.cause);
  if (d.error) return d.error.message;
  const offline = targets.find((t) => t.status === 'InProgress' && t.agent && !t.agent.online);
  if (offline?.agent) return `${offline.instanceId}: agent offline${offline.agent.lastSeenAt ? ` since ${new Date(offline.agent.lastSeenAt).toLocaleTimeString()}` : ''}`;
  return undefined;
}

function duration(start?: string, end?: string): string {
  if (!start || !end) return '';
  const ms = Date.parse(end) - Date.parse(start);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function timeline(detail: Detail): Node {
  return h(
    'ol',
    { class: 'timeline' },
    detail.events.map((e) =>
      h(
        'li',
        { class: `event event-${e.status.toLowerCase()}` },
        h('span', { class: 'event-name' }, e.name),
        ' ',
        badge(e.status),
        e.startedAt ? [' ', time(e.startedAt), ' ', duration(e.startedAt, e.endedAt)] : null,
        e.exitCode !== undefined ? ` exit code ${e.exitCode}` : null,
        e.message ? h('div', { class: 'event-message' }, e.message) : null,
      ),
    ),
  );
}

function hostCard(target: Target, detail: Detail | undefined, deploymentId: string): Node {
  const events = h('div', { class: 'events' }, detail ? timeline(detail) : null);
  const load = async () => {
    if (events.childNodes.length > 0) return;
    events.append(timeline(await call('getDeploymentInstance', { id: deploymentId, instanceId: target.instanceId })));
  };
  return h(
    'li',
    { class: `host host-${target.status.toLowerCase()}`, 'data-instance': target.instanceId },
    h(
      'details',
      { open: detail !== undefined, ontoggle: () => void load() },
      h('summary', {}, h('strong', {}, target.instanceId), ' ', badge(target.status), target.lastEvent ? ` ${target.lastEvent}` : ''),
      events,
      h('a', { href: `#/deployments/${encodeURIComponent(deploymentId)}/instances/${encodeURIComponent(target.instanceId)}/log` }, 'Full log'),
    ),
  );
}

function actions(d: Deployment, rerender: () => void): Node {
  const id = { id: d.deploymentId };
  // One token per screen drawn: a second click, or a retried request, finds the deployment the first one made.
  const idempotencyToken = `console-${crypto.randomUUID()}`;
  const goTo = (answer: unknown) => {
    const created = (answer as { deploymentId?: string } | undefined)?.deploymentId;
    if (created && created !== d.deploymentId) location.hash = `#/deployments/${encodeURIComponent(created)}`;
    else rerender();
  };
  return h(
    'div',
    { class: 'actions' },
    isActive(d) ? actionButton('Stop', () => call('stopDeployment', id, {}), goTo) : null,
    !isActive(d) ? actionButton('Redeploy', () => call('redeployDeployment', id, { idempotencyToken }), goTo) : null,
    d.status === 'Failed' || d.status === 'Stopped' ? actionButton('Retry failed hosts', () => call('retryDeployment', id, { failedOnly: true, idempotencyToken }), goTo) : null,
  );
}

/** Screen 3: progress against the minimum healthy hosts, the hosts and their events, the first failure in one line. */
export async function deploymentScreen(deploymentId: string, rerender: () => void): Promise<Node> {
  const d = await call('getDeployment', { id: deploymentId });
  const targets = await all('listDeploymentInstances', { id: deploymentId });
  const eager = targets.filter((t) => t.status === 'Failed' || t.status === 'Unknown').slice(0, EAGER_DETAILS);
  const details = new Map(await Promise.all(eager.map(async (t) => [t.instanceId, await call('getDeploymentInstance', { id: deploymentId, instanceId: t.instanceId })] as const)));
  const failure = failureLine(d, targets);
  const healthy = d.counts.succeeded;
  return h(
    'section',
    { 'aria-labelledby': 'deployment-title' },
    h('p', {}, h('a', { href: '#/' }, '← Fleet')),
    h('h1', { id: 'deployment-title' }, `Deployment ${d.deploymentId} `, badge(d.status)),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Application / group'), h('dd', {}, `${d.application} / ${d.group}`),
      h('dt', {}, 'Revision'), h('dd', {}, `s3://${d.revision.bucket}/${d.revision.key}`),
      h('dt', {}, 'Created'), h('dd', {}, time(d.createdAt), ` by ${d.creator}`),
      h('dt', {}, 'Completed'), h('dd', {}, time(d.completedAt)),
    ),
    failure ? h('p', { class: 'failure', role: 'alert', 'data-testid': 'failure' }, failure) : null,
    h(
      'div',
      { class: 'progress' },
      h('label', { for: 'healthy' }, `Healthy hosts: ${healthy} of ${d.fleetSize} (minimum ${d.minimumHealthyHosts})`),
      h('progress', { id: 'healthy', max: Math.max(d.fleetSize, 1), value: healthy }),
      h('p', {}, `pending ${d.counts.pending} · in progress ${d.counts.inProgress} · succeeded ${d.counts.succeeded} · failed ${d.counts.failed} · skipped ${d.counts.skipped} · unknown ${d.counts.unknown}`),
    ),
    actions(d, rerender),
    h('h2', {}, 'Hosts'),
    h('ul', { class: 'hosts' }, targets.map((t) => hostCard(t, details.get(t.instanceId), deploymentId))),
  );
}
