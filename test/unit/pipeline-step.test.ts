import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Execution, type Pipeline, initialStages } from '../../lib/domain/pipeline.js';
import { decidePipelineStep } from '../../lib/domain/pipeline-step.js';

const NOW = '2026-01-01T12:00:00.000Z';
const stagesDef: Pipeline['stages'] = [
  { name: 'Staging', actions: [{ type: 'deploy', name: 'deploy-1', application: 'web', group: 'staging' }] },
  { name: 'Approve', actions: [{ type: 'approval', name: 'approval-1', timeoutMinutes: 60 }] },
  { name: 'Prod', actions: [{ type: 'deploy', name: 'deploy-1', application: 'web', group: 'prod' }, { type: 'deploy', name: 'deploy-2', application: 'api', group: 'prod' }] },
];

function execution(changes: Partial<Execution> = {}): Execution {
  return {
    executionId: 'e-1', pipeline: 'web', definition: stagesDef, revision: { bucket: 'b', key: 'k.zip' }, trigger: { type: 'S3', by: 'ci' },
    status: 'InProgress', stageIndex: 0, waiting: false, stages: initialStages({ stages: stagesDef }), createdAt: NOW, updatedAt: NOW,
    preflight: { ok: true, problems: [] }, version: 3, ...changes,
  };
}

/** The execution with stage `i` entered and its actions set as given. */
function inStage(i: number, actions: Partial<Execution['stages'][number]['actions'][number]>[]): Execution {
  const ex = execution({ stageIndex: i });
  ex.stages = ex.stages.map((s, k) => (k < i ? { ...s, status: 'Succeeded', actions: s.actions.map((a) => ({ ...a, status: 'Succeeded' })) } : s));
  const stage = ex.stages[i]!;
  ex.stages[i] = { ...stage, status: 'InProgress', actions: stage.actions.map((a, j) => ({ ...a, ...actions[j] })) };
  return ex;
}

describe('deciding a pipeline step', () => {
  it('checks the revision before anything, then enters the first stage', () => {
    expect(decidePipelineStep(execution({ preflight: undefined }), NOW)).toEqual({ kind: 'preflight' });
    expect(decidePipelineStep(execution(), NOW)).toEqual({ kind: 'enterStage' });
  });

  it('starts a deploy action with its attempt number, so a retry creates a distinct deployment', () => {
    expect(decidePipelineStep(inStage(0, [{}]), NOW)).toEqual({ kind: 'startDeploy', at: { stage: 0, action: 0 }, application: 'web', group: 'staging', attempt: 0 });
    expect(decidePipelineStep(inStage(0, [{ attempt: 2 }]), NOW)).toMatchObject({ kind: 'startDeploy', attempt: 2 });
  });

  it('a deploy action waiting for a busy group starts it again (the deployment token makes that safe)', () => {
    expect(decidePipelineStep(inStage(0, [{ waitingForGroup: true }]), NOW)).toMatchObject({ kind: 'startDeploy' });
  });

  it('a running deploy action asks for its deployment, waits while it runs, and records how it ended', () => {
    const ex = inStage(0, [{ status: 'InProgress', deploymentId: 'd-AAAAAAAAA' }]);
    expect(decidePipelineStep(ex, NOW)).toEqual({ kind: 'readDeployment', at: { stage: 0, action: 0 }, deploymentId: 'd-AAAAAAAAA' });
    expect(decidePipelineStep(ex, NOW, { deploymentId: 'd-AAAAAAAAA', status: 'InProgress' })).toEqual({ kind: 'wait' });
    expect(decidePipelineStep(ex, NOW, { deploymentId: 'd-AAAAAAAAA', status: 'Succeeded' })).toEqual({
      kind: 'recordAction', at: { stage: 0, action: 0 }, changes: { status: 'Succeeded', endedAt: NOW },
    });
    expect(decidePipelineStep(ex, NOW, { deploymentId: 'd-AAAAAAAAA', status: 'Failed', message: 'web-1: Install exited 2' })).toMatchObject({
      kind: 'recordAction', changes: { status: 'Failed', error: 'Deployment d-AAAAAAAAA Failed: web-1: Install exited 2' },
    });
    // Another deployment's state says nothing about this one.
    expect(decidePipelineStep(ex, NOW, { deploymentId: 'd-BBBBBBBBB', status: 'Succeeded' })).toMatchObject({ kind: 'readDeployment' });
  });

  it('an approval starts with its deadline, waits, and times out once the deadline has passed', () => {
    expect(decidePipelineStep(inStage(1, [{}]), NOW)).toEqual({ kind: 'startApproval', at: { stage: 1, action: 0 }, deadline: '2026-01-01T13:00:00.000Z' });
    const waiting = inStage(1, [{ status: 'InProgress', deadline: '2026-01-01T13:00:00.000Z' }]);
    expect(decidePipelineStep(waiting, NOW)).toEqual({ kind: 'wait' });
    expect(decidePipelineStep(waiting, '2026-01-01T13:00:00.000Z')).toMatchObject({
      kind: 'recordAction', changes: { status: 'Failed', error: 'Approval timed out after 60 minute(s)' },
    });
  });

  it('runs a stage\'s actions in order and completes the stage when all succeeded', () => {
    expect(decidePipelineStep(inStage(2, [{ status: 'Succeeded' }, {}]), NOW)).toMatchObject({ kind: 'startDeploy', at: { stage: 2, action: 1 }, application: 'api' });
    expect(decidePipelineStep(inStage(2, [{ status: 'Succeeded' }, { status: 'Succeeded' }]), NOW)).toEqual({ kind: 'completeStage' });
  });

  it('fails on a failed or stopped action, naming it, and succeeds past the last stage', () => {
    expect(decidePipelineStep(inStage(2, [{ status: 'Succeeded' }, { status: 'Failed', error: 'Deployment d-X Failed' }]), NOW)).toEqual({ kind: 'fail', reason: 'Deployment d-X Failed' });
    expect(decidePipelineStep(inStage(0, [{ status: 'Stopped' }]), NOW)).toEqual({ kind: 'fail', reason: 'deploy-1 failed' });
    expect(decidePipelineStep(execution({ stageIndex: 3 }), NOW)).toEqual({ kind: 'succeed' });
  });

  it('fails, naming the stage, when the recorded definition has no such action', () => {
    const ex = inStage(0, [{}]);
    expect(decidePipelineStep({ ...ex, definition: [{ name: 'Staging', actions: [] }] }, NOW)).toEqual({ kind: 'fail', reason: 'stage Staging has no action 1' });
  });

  it('whatever the recorded state, never acts outside the current stage and never skips an unfinished action', () => {
    const status = fc.constantFrom('Pending', 'InProgress', 'Succeeded', 'Failed', 'Stopped' as const);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.array(status, { minLength: 2, maxLength: 2 }), (stageIndex, statuses) => {
        const ex = stageIndex < 3 ? inStage(stageIndex, statuses.map((s) => ({ status: s as never, deploymentId: 'd-AAAAAAAAA' }))) : execution({ stageIndex });
        const decision = decidePipelineStep(ex, NOW, { deploymentId: 'd-AAAAAAAAA', status: 'InProgress' });
        if ('at' in decision) {
          expect(decision.at.stage).toBe(stageIndex);
          const before = ex.stages[stageIndex]!.actions.slice(0, decision.at.action);
          expect(before.every((a) => a.status === 'Succeeded')).toBe(true);
        }
        if (decision.kind === 'completeStage') expect(ex.stages[stageIndex]!.actions.every((a) => a.status === 'Succeeded')).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
