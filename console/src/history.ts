import type { Item } from '../../lib/api/operation-types.js';
import { DEPLOYMENT_STATUSES } from '../../lib/domain/lifecycle.js';
import { all, call } from './api.js';
import { badge, h, table, time } from './dom.js';

/** The newest this many of each are read (the API filters by application, group and status; the rest here). */
const DEPLOYMENTS = 100;
const EXECUTIONS_PER_PIPELINE = 20;

interface Filters {
  application: string;
  group: string;
  status: string;
  who: string;
  since: string;
}

const FIELDS: [keyof Filters, string][] = [['application', 'Application'], ['group', 'Group'], ['who', 'Who (part of the ARN)'], ['since', 'Since']];

export function filtersOf(query: string): Filters {
  const q = new URLSearchParams(query);
  return { application: q.get('application') ?? '', group: q.get('group') ?? '', status: q.get('status') ?? '', who: q.get('who') ?? '', since: q.get('since') ?? '' };
}

function form(filters: Filters): Node {
  const inputs = FIELDS.map(([name, label]) => {
    const id = `history-${name}`;
    return h('span', { class: 'field' }, h('label', { for: id }, label), ' ', h('input', { id, name, type: name === 'since' ? 'date' : 'text', value: filters[name] }));
  });
  const status = h('select', { id: 'history-status', name: 'status' }, h('option', { value: '' }, 'any'), DEPLOYMENT_STATUSES.map((s) => h('option', { value: s, selected: s === filters.status }, s)));
  const element = h('form', { class: 'filters', 'aria-label': 'Filters' }, inputs, h('span', { class: 'field' }, h('label', { for: 'history-status' }, 'Status'), ' ', status), ' ', h('button', { type: 'submit' }, 'Show'));
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const [name, value] of new FormData(element)) if (String(value)) chosen.set(name, String(value));
    location.hash = `#/history${chosen.size > 0 ? `?${chosen}` : ''}`;
  });
  return element;
}

/** Screen 6: deployments and executions, newest first, filtered by application, group, status, who and since. */
export async function historyScreen(query: string): Promise<Node> {
  const f = filtersOf(query);
  const since = f.since ? Date.parse(f.since) : undefined;
  const keep = (status: string, who: string, at: string) =>
    (!f.status || status === f.status) && (!f.who || who.includes(f.who)) && (since === undefined || Date.parse(at) >= since);
  const deployments = (
    await all('listDeployments', { ...(f.application ? { application: f.application } : {}), ...(f.group && f.application ? { group: f.group } : {}), ...(f.status ? { status: f.status as never } : {}) }, DEPLOYMENTS)
  ).filter((d) => keep(d.status, d.creator, d.createdAt) && (!f.group || d.group === f.group));
  const executions: Item<'listExecutions'>[] = [];
  if (!f.application && !f.group) {
    for (const pipeline of await all('listPipelines', {})) {
      const page = await call('listExecutions', { name: pipeline.name, limit: EXECUTIONS_PER_PIPELINE });
      executions.push(...page.items.filter((e) => keep(e.status, e.trigger.by, e.createdAt)));
    }
    executions.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }
  return h(
    'section',
    { 'aria-labelledby': 'history-title' },
    h('h1', { id: 'history-title' }, 'History'),
    form(f),
    table(
      'Deployments',
      ['Deployment', 'Application / group', 'Status', 'Who', 'Created', 'Revision'],
      deployments.map((d) => [h('a', { href: `#/deployments/${encodeURIComponent(d.deploymentId)}` }, d.deploymentId), `${d.application} / ${d.group}`, badge(d.status), d.creator, time(d.createdAt), d.revision.key]),
    ),
    f.application || f.group
      ? h('p', {}, 'Executions are listed by pipeline: clear the application and group to see them.')
      : table(
        'Pipeline executions',
        ['Execution', 'Pipeline', 'Status', 'Started by', 'Created'],
        executions.map((e) => [h('a', { href: `#/executions/${encodeURIComponent(e.executionId)}` }, e.executionId), e.pipeline, badge(e.status), e.trigger.by, time(e.createdAt)]),
      ),
  );
}
