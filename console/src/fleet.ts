import type { Item } from '../../lib/api/operation-types.js';
import { ApiError, all, first } from './api.js';
import { badge, h, table, time } from './dom.js';

type Deployment = Item<'listDeployments'>;
type Instance = Item<'listInstances'>;

interface GroupRow {
  application: string;
  group: string;
  last: Deployment | undefined;
  current: Deployment | undefined;
  /** Why its deployments could not be read (a principal that may see the group but not its deployments). */
  problem?: string;
}

const deploymentLink = (d: Deployment | undefined) => (d ? h('a', { href: `#/deployments/${encodeURIComponent(d.deploymentId)}` }, d.deploymentId) : '—');
const revisionText = (row: GroupRow) => (row.problem ? row.problem : row.current ? `s3://${row.current.revision.bucket}/${row.current.revision.key}` : 'none deployed yet');

async function groupRow(application: string, group: string): Promise<GroupRow> {
  const scope = { application, group, limit: 1 };
  try {
    const [last, current] = await Promise.all([first('listDeployments', scope), first('listDeployments', { ...scope, status: 'Succeeded' })]);
    return { application, group, last, current };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status >= 500 || error.status === 0 || error.status === 429) throw error;
    return { application, group, last: undefined, current: undefined, problem: `deployments not shown: ${error.message}` };
  }
}

async function groupRows(): Promise<GroupRow[]> {
  const rows: Promise<GroupRow>[] = [];
  for (const application of await all('listApplications', {})) {
    for (const group of await all('listGroups', { app: application.name })) rows.push(groupRow(application.name, group.name));
  }
  return Promise.all(rows);
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
      groups.map((g) => [g.application, g.group, revisionText(g), deploymentLink(g.last), g.last ? badge(g.last.status) : '—', time(g.last?.createdAt)]),
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
