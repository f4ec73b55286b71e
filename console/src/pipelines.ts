import type { Answer, Item } from '../../lib/api/operation-types.js';
import { actionButton } from './action-button.js';
import { all, call } from './api.js';
import { badge, h, table, time } from './dom.js';

type Execution = Answer<'getExecution'>;
type Stage = Execution['stages'][number];
type Action = Stage['actions'][number];

/** Executions listed per pipeline on the pipelines screen (the newest). */
const RECENT = 5;

const executionLink = (id: string) => h('a', { href: `#/executions/${encodeURIComponent(id)}` }, id);

/** Screen 2a: each pipeline and its latest executions, superseded ones included. */
export async function pipelinesScreen(): Promise<Node> {
  const pipelines = await all('listPipelines', {});
  const rows = await Promise.all(
    pipelines.map(async (p) => {
      const recent = await call('listExecutions', { name: p.name, limit: RECENT });
      return [
        p.name,
        `s3://${p.source.bucket}/${p.source.prefix}`,
        p.stages.map((s) => s.name).join(' → '),
        h('ul', { class: 'plain' }, recent.items.map((e: Item<'listExecutions'>) => h('li', {}, executionLink(e.executionId), ' ', badge(e.status), ' ', time(e.createdAt)))),
      ];
    }),
  );
  return h('section', { 'aria-labelledby': 'pipelines-title' }, h('h1', { id: 'pipelines-title' }, 'Pipelines'), table('Pipelines', ['Pipeline', 'Source', 'Stages', 'Latest executions'], rows));
}

function decisionText(action: Action): string | undefined {
  const d = action.decision;
  if (!d) return undefined;
  return `${d.approved ? 'Approved' : 'Rejected'} by ${d.by}${d.comment ? `: “${d.comment}”` : ''}`;
}

function approvalForm(execution: Execution, action: Action, rerender: () => void): Node {
  const id = `comment-${action.name.replace(/\W/g, '-')}`;
  const comment = h('textarea', { id, rows: 2, maxlength: 1024 });
  const answer = (approve: boolean) => () => {
    const body = { comment: comment.value };
    return approve ? call('approveExecution', { id: execution.executionId }, body) : call('rejectExecution', { id: execution.executionId }, body);
  };
  return h(
    'div',
    { class: 'approval' },
    h('label', { for: id }, `Comment on ${action.name}`),
    comment,
    actionButton('Approve', answer(true), rerender),
    actionButton('Reject', answer(false), rerender),
  );
}

function actionCard(execution: Execution, action: Action, rerender: () => void): Node {
  const decision = decisionText(action);
  return h(
    'li',
    { class: `action action-${action.status.toLowerCase()}`, 'data-action': action.name },
    h('strong', {}, action.name), ` (${action.type}) `, badge(action.status),
    action.deploymentId ? h('div', {}, 'Deployment ', h('a', { href: `#/deployments/${encodeURIComponent(action.deploymentId)}` }, action.deploymentId)) : null,
    action.waitingForGroup ? h('div', {}, 'waiting for its group to be free') : null,
    action.deadline && action.status === 'InProgress' ? h('div', {}, 'answer by ', time(action.deadline)) : null,
    decision ? h('div', { class: 'decision' }, decision) : null,
    action.error ? h('div', { class: 'failure' }, action.error) : null,
    action.type === 'approval' && action.status === 'InProgress' && execution.status === 'InProgress' ? approvalForm(execution, action, rerender) : null,
  );
}

function controls(execution: Execution, rerender: () => void): Node {
  const id = { id: execution.executionId };
  return h(
    'div',
    { class: 'actions' },
    execution.status === 'InProgress' ? actionButton('Stop execution', () => call('stopExecution', id), rerender) : null,
    execution.status === 'Failed' ? actionButton('Retry failed stage', () => call('retryExecution', id), rerender) : null,
  );
}

export const executionActive = (status: string) => status === 'InProgress';

/** Screen 2b: an execution's stages and actions in order, who decided what, and what can be done now. */
export async function executionScreen(executionId: string, rerender: () => void): Promise<Node> {
  const execution = await call('getExecution', { id: executionId });
  const problems = execution.preflight && !execution.preflight.ok ? execution.preflight.problems : [];
  return h(
    'section',
    { 'aria-labelledby': 'execution-title' },
    h('p', {}, h('a', { href: '#/pipelines' }, '← Pipelines')),
    h('h1', { id: 'execution-title' }, `${execution.pipeline} execution ${execution.executionId} `, badge(execution.status)),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Revision'), h('dd', {}, `s3://${execution.revision.bucket}/${execution.revision.key}`),
      h('dt', {}, 'Started'), h('dd', {}, time(execution.createdAt), ` by ${execution.trigger.type === 'S3' ? 'an upload' : 'hand'} (${execution.trigger.by})`),
      h('dt', {}, 'Ended'), h('dd', {}, time(execution.endedAt)),
    ),
    execution.error ? h('p', { class: 'failure', role: 'alert' }, execution.error) : null,
    problems.length > 0 ? h('ul', { class: 'failure' }, problems.map((p) => h('li', {}, `${p.path}: ${p.message}`))) : null,
    controls(execution, rerender),
    h(
      'ol',
      { class: 'stages', 'aria-label': 'Stages' },
      execution.stages.map((stage) =>
        h('li', { class: `stage stage-${stage.status.toLowerCase()}`, 'data-stage': stage.name }, h('h2', {}, `${stage.name} `, badge(stage.status)), h('ul', { class: 'plain' }, stage.actions.map((a) => actionCard(execution, a, rerender)))),
      ),
    ),
  );
}
