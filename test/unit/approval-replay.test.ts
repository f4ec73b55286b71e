import { describe, expect, it } from 'vitest';
import type { Execution } from '../../lib/domain/pipeline.js';
import { ConflictError } from '../../lib/errors.js';
import { decideApproval } from '../../lib/pipelines/execution-commands.js';
import type { PipelineDeps } from '../../lib/pipelines/pipeline-deps.js';

const ID = 'e-aaaaaaaaaaaaaaaa';
const ALICE = 'arn:aws:sts::111122223333:assumed-role/release-manager/alice';
const BOB = 'arn:aws:sts::111122223333:assumed-role/release-manager/bob';

/** An execution waiting on its Approve stage's approval. */
function waitingForApproval(): Execution {
  return {
    executionId: ID,
    pipeline: 'web',
    definition: [{ name: 'Approve', actions: [{ name: 'Approval', type: 'approval', timeoutMinutes: 60 }] }] as Execution['definition'],
    revision: { bucket: 'artifacts', key: 'web/app-1.zip', eTag: 'abc' } as Execution['revision'],
    trigger: { type: 'Manual', by: ALICE },
    status: 'InProgress',
    stageIndex: 0,
    waiting: false,
    stages: [{ name: 'Approve', status: 'InProgress', actions: [{ name: 'Approval', type: 'approval', status: 'InProgress', deadline: '2030-01-01T01:00:00.000Z' }] }],
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
    version: 1,
  };
}

/**
 * One execution in a table whose eventually consistent reads may lag: `stale` answers what
 * those reads still see, while saves (conditional on the version) and consistent reads see what is stored.
 */
function lagging() {
  const table = { stored: waitingForApproval(), stale: undefined as Execution | undefined, saves: 0 };
  const deps = {
    clock: { now: () => new Date('2030-01-01T00:10:00.000Z') },
    executions: {
      get: async (_id: string, options: { consistent?: boolean } = {}) => structuredClone(!options.consistent && table.stale ? table.stale : table.stored),
      save: async (ex: Execution) => {
        if (ex.version !== table.stored.version) throw new ConflictError(`Execution ${ex.executionId} changed concurrently`);
        table.saves++;
        table.stored = { ...structuredClone(ex), version: ex.version + 1 };
        return structuredClone(table.stored);
      },
    },
  } as unknown as PipelineDeps;
  return { table, deps };
}

/** The first attempt took effect and its answer was lost; the retry reads the execution as it was before it. */
async function afterLostAnswer(decision: { approved: boolean; by: string; comment: string }) {
  const { table, deps } = lagging();
  table.stale = table.stored;
  await decideApproval(ID, { approved: true, by: ALICE, comment: 'ship it' }, deps);
  return { table, retry: () => decideApproval(ID, decision, deps) };
}

describe('an approval answered again after its first answer was lost', () => {
  it('is still a conflict when the retry is another verdict: the recorded decision stands', async () => {
    const { table, retry } = await afterLostAnswer({ approved: false, by: ALICE, comment: 'ship it' });
    await expect(retry()).rejects.toThrow(ConflictError);
    expect(table.stored.stages[0]!.actions[0]!.decision).toMatchObject({ approved: true, by: ALICE });
  });

  it('is still a conflict when someone else answers: they did not decide it', async () => {
    const { table, retry } = await afterLostAnswer({ approved: true, by: BOB, comment: 'ship it' });
    await expect(retry()).rejects.toThrow(ConflictError);
    expect(table.stored.stages[0]!.actions[0]!.decision?.by).toBe(ALICE);
  });

  it('answers the recorded decision when the same principal sends the same verdict, even from a read that predates it', async () => {
    const { table, retry } = await afterLostAnswer({ approved: true, by: ALICE, comment: 'ship it' });
    const answer = await retry();
    expect(answer.stages[0]!.actions[0]!.decision).toEqual({ approved: true, by: ALICE, comment: 'ship it', at: '2030-01-01T00:10:00.000Z' });
    expect(answer.version).toBe(table.stored.version);
    expect(table.saves).toBe(1);
  });

  it('answers the recorded decision to two copies of one request sent at once, saving it once', async () => {
    const { table, deps } = lagging();
    const decision = { approved: true, by: ALICE, comment: 'ship it' };
    const [a, b] = await Promise.all([decideApproval(ID, decision, deps), decideApproval(ID, decision, deps)]);
    expect(table.saves).toBe(1);
    expect(a.stages[0]!.actions[0]!.decision).toEqual(b.stages[0]!.actions[0]!.decision);
  });
});
