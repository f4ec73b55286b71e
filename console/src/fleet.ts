import type { Item } from '../../lib/api/operation-types.js';
import { all, call } from './api.js';
import { badge, h, table, time } from './dom.js';

type Deployment = Item<'listDeployments'>;
type Instance = Item<'listInstances'>;

interface GroupRow {
  application: string;
  group: string;
  last: Deployment | undefined;
  current: Deployment | undefined;
}

const deploymentLink = (d: Deployment | undefined) => (d ? h('a', { href: `#/deployments/${encodeURIComponent(d.deploymentId)}` }, d.deploymentId) : '—');
const revisionText = (d: Deployment | undefined) => (d ? `s3://${d.revision.bucket}/${d.revision.key}` : 'none deployed yet');

async function groupRows(): Promise<GroupRow[]> {
  const rows: GroupRow[] = [];
  for (const application of await all('listApplications', {})) {
    for (const group of await all('listGroups', { app: application.name })) {
      const scope = { application: application.name, group: group.name, limit: 1 };
      const [last, current] = await Promise.all([call('listDeployments', scope), call('listDeployments', { ...scope, status: 'Succeeded' })]);
      rows.push({ application: application.name, group: group.name, last: last.items[0], current: current.items[0] });
    }
  }
  return rows;
}

function agentText(agent: Instance['agent']): string {
  if (!agent.lastSeenAt) return 'never seen';
  return agent.online ? `online (${agent.channel})` : 'offline';
}

/** Screen 1: every group with its current revision and last deployment, and the instances by agent state. */
export async function fleetScreen(): Promise<Node> {
  const [groups, instances] = await Promise.all([groupRows(), all('listInstances', {})]);
  const online = instances.filter((i) => i.agent.online).length;
  return h(
    'section',
    { 'aria-labelledby': 'fleet-title' },
    h('h1', { id: 'fleet-title' }, 'Fleet'),
    table(
      'Deployment groups',
      ['Application', 'Group', 'Current revision', 'Last deployment', 'Status', 'Created'],
      groups.map((g) => [g.application, g.group, revisionText(g.current), deploymentLink(g.last), g.last ? badge(g.last.status) : '—', time(g.last?.createdAt)]),
    ),
    h('p', { class: 'summary', 'data-testid': 'agent-summary' }, `${instances.length} instances: ${online} online, ${instances.length - online} offline`),
    table(
      'Instances',
      ['Instance', 'Tags', 'Agent', 'Version', 'Last seen'],
      instances.map((i) => [
        i.instanceId,
        i.tags.map((t) => `${t.key}=${t.value}`).join(', '),
        h('span', { class: i.agent.online ? 'ok' : 'warn' }, agentText(i.agent)),
        i.agent.version ?? '—',
        time(i.agent.lastSeenAt),
      ]),
    ),
  );
}
