import { describe, expect, it } from 'vitest';
import { reconcileExecutions } from '../../lib/pipelines/reconcile-executions.js';
import type { PipelineDeps } from '../../lib/pipelines/pipeline-deps.js';

/** Two active executions; reading the first always fails. Records which ones the pass looked at. */
function twoActive() {
  const looked: string[] = [];
  const deps = {
    clock: { now: () => new Date(0) },
    executions: {
      listActive: async () => [{ executionId: 'e-aaaaaaaaaaaaaaaa', pipeline: 'p' }, { executionId: 'e-bbbbbbbbbbbbbbbb', pipeline: 'p' }],
      get: async (id: string) => {
        looked.push(id);
        if (id === 'e-aaaaaaaaaaaaaaaa') throw new Error('this one always fails');
        return undefined;
      },
    },
  } as unknown as PipelineDeps;
  return { deps, looked };
}

describe('the reconciler’s pass over active executions', () => {
  it('goes on past an execution that keeps failing', async () => {
    const { deps, looked } = twoActive();
    expect(await reconcileExecutions(deps)).toBe(2);
    expect(looked).toEqual(['e-aaaaaaaaaaaaaaaa', 'e-bbbbbbbbbbbbbbbb']);
  });

  it('begins none once it is out of time', async () => {
    const { deps, looked } = twoActive();
    expect(await reconcileExecutions(deps, () => true)).toBe(2);
    expect(looked).toEqual([]);
  });
});
