import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { startPipelinesFor } from '../../lib/artifacts/start-pipelines.js';
import type { ArtifactUpload } from '../../lib/domain/artifact-upload.js';
import type { Execution } from '../../lib/domain/pipeline.js';
import { advanceExecution } from '../../lib/pipelines/execution-engine.js';
import { reconcileExecutions } from '../../lib/pipelines/reconcile-executions.js';
import type { ExecutionsRepository } from '../../lib/ports.js';
import { useApi } from '../support/api-harness.js';
import { MINIMAL_APPSPEC, zipBundle } from '../support/bundles.js';

/**
 * Executions waiting for a stage when the worker dies at the worst moment:
 * each write `dies` matches takes effect, then the worker dies (what it would
 * have done next does not happen). It dies on every attempt until `dies` is
 * cleared, so the stream's retries end and the record is given up: what is
 * left is the reconciler's, or the next record's.
 */
let dies: { save?: (ex: Execution) => boolean; acquire?: (executionId: string) => boolean; beforeAcquire?: (executionId: string) => boolean } = {};
class EngineDied extends Error {}
/** What the index and other workers do meanwhile: a waiting execution missing from the (lagging) index once; something run after a failed acquire. */
let meanwhile: { hideOnce?: string; afterFailedAcquire?: (executionId: string) => Promise<void> } = {};

const api = useApi((deps) => {
  const executions: ExecutionsRepository = Object.create(deps.executions);
  executions.save = async (ex, options) => {
    const saved = await deps.executions.save(ex, options);
    if (dies.save?.(ex)) throw died();
    return saved;
  };
  executions.acquireStage = async (pipeline, stage, executionId) => {
    if (dies.beforeAcquire?.(executionId)) throw died();
    const taken = await deps.executions.acquireStage(pipeline, stage, executionId);
    if (taken && dies.acquire?.(executionId)) throw died();
    if (!taken) await meanwhile.afterFailedAcquire?.(executionId);
    return taken;
  };
  executions.waiting = async (pipeline, stage) => {
    const ids = await deps.executions.waiting(pipeline, stage);
    const hidden = meanwhile.hideOnce;
    meanwhile.hideOnce = undefined;
    return ids.filter((id) => id !== hidden);
  };
  return { executions };
});
const died = () => new EngineDied();
/** Until the worker has given up what it died on; then it lives again. */
const dieUntilGivenUp = async (how: typeof dies) => {
  dies = how;
  await api.settle();
  dies = {};
};

const BUCKET = 'fleetline-dev-artifacts';
let counter = 0;

/** A pipeline with one approval stage, and a way to upload numbered builds to it. */
async function gatePipeline(executionMode: 'SUPERSEDED' | 'QUEUED') {
  const n = ++counter;
  const prefix = `gate${n}/`;
  const pipeline = `gate-${n}`;
  const put = await api.call('PUT', `/pipelines/${pipeline}`, {
    body: { source: { bucket: BUCKET, prefix, suffix: '.zip' }, executionMode, stages: [{ name: 'Gate', actions: [{ type: 'approval' }] }] },
  });
  expect(put.status).toBe(201);
  /** Uploads build `b` and delivers its notification; returns the execution it started. */
  const build = async (b: number): Promise<string> => {
    api.clock.advance(1);
    const key = `${prefix}build-${b}.zip`;
    const { ETag } = await api.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await zipBundle([{ path: 'appspec.yml', content: MINIMAL_APPSPEC }]) }));
    const upload: ArtifactUpload = {
      bucket: BUCKET, key, versionId: `v${b}`, eTag: ETag ?? '', size: 10, sequencer: (0x1000 + b).toString(16).toUpperCase().padStart(18, '0'),
      eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), uploader: 'AWS:ci',
    };
    const { started } = await startPipelinesFor(upload, api.deps);
    expect(started).toHaveLength(1);
    return started[0] as string;
  };
  return { pipeline, build };
}

const execution = async (id: string): Promise<Execution> => (await api.call('GET', `/executions/${id}`)).body;
const atGate = async (id: string) => {
  const ex = await execution(id);
  return `${ex.status}${ex.waiting ? ' waiting' : ''} ${ex.stages[0]?.status}`;
};
const approve = (id: string) => api.call('POST', `/executions/${id}/approve`, { body: { comment: 'ok' } });

describe('executions waiting for a stage, when the worker dies between two writes', () => {
  it('SUPERSEDED: a build that took the slot when the worker died is let in later, never superseded by a newer one', async () => {
    const { build } = await gatePipeline('SUPERSEDED');
    const one = await build(1);
    const two = await build(2);
    // Approving one lets two in: two takes the stage's slot, and the worker dies before two's entry is written.
    expect((await approve(one)).status).toBe(200);
    await dieUntilGivenUp({ acquire: (id) => id === two });
    expect(await atGate(two)).toBe('InProgress waiting Pending');
    const three = await build(3); // the slot is two's: three waits, and must not supersede two
    expect(await atGate(two)).toBe('InProgress waiting Pending');
    expect(await atGate(three)).toBe('InProgress waiting Pending');
    await reconcileExecutions(api.deps);
    expect(await atGate(two)).toBe('InProgress InProgress');
    expect((await approve(two)).status).toBe(200);
    expect(await atGate(three)).toBe('InProgress InProgress');
    expect((await approve(three)).status).toBe(200);
    expect((await execution(three)).status).toBe('Succeeded');
  });

  it('QUEUED: a newcomer finding the slot free while older builds wait goes behind them', async () => {
    const { build } = await gatePipeline('QUEUED');
    const one = await build(1);
    const two = await build(2);
    const three = await build(3);
    // one leaves the stage (the slot is free) and the worker dies before letting two in, each time it tries;
    // a newcomer then finds the slot free.
    expect((await approve(one)).status).toBe(200);
    await dieUntilGivenUp({ beforeAcquire: (id) => id === two });
    expect(await atGate(two)).toBe('InProgress waiting Pending');
    const four = await build(4);
    expect(await atGate(four)).toBe('InProgress waiting Pending');
    expect(await atGate(two)).toBe('InProgress InProgress'); // the first in line was let in
    for (const [id, next] of [[two, three], [three, four]] as const) {
      expect((await approve(id)).status).toBe(200);
      expect(await atGate(next)).toBe('InProgress InProgress');
    }
  });

  it('SUPERSEDED: a newcomer finding the slot free while an older build waits enters and replaces it', async () => {
    const { build } = await gatePipeline('SUPERSEDED');
    const one = await build(1);
    const two = await build(2);
    expect((await approve(one)).status).toBe(200);
    await dieUntilGivenUp({ beforeAcquire: (id) => id === two });
    expect(await atGate(two)).toBe('InProgress waiting Pending');
    const three = await build(3);
    expect(await atGate(three)).toBe('InProgress InProgress');
    expect(await atGate(two)).toBe('Superseded Pending'); // it would otherwise follow a newer build through the stage
  });

  it('a retried approval whose first attempt took effect answers 200, and the next build goes in when the stream delivers the record again', async () => {
    const { build } = await gatePipeline('QUEUED');
    const one = await build(1);
    const two = await build(2);
    expect((await approve(one)).status).toBe(200);
    await dieUntilGivenUp({ save: (ex) => ex.executionId === one && ex.stageIndex === 1 });
    const again = await approve(one);
    expect(again.status).toBe(200);
    expect(again.body.stages[0].actions[0].decision).toMatchObject({ approved: true, comment: 'ok' });
    expect((await execution(one)).status).toBe('Succeeded');
    expect(await atGate(two)).toBe('InProgress InProgress');
    // Another verdict on an approval already decided is still a conflict.
    expect((await api.call('POST', `/executions/${one}/reject`, { body: { comment: 'ok' } })).status).toBe(409);
  });

  it('QUEUED: a build that took the slot before an older waiting one showed in the index gives it back, and the older one goes first', async () => {
    const { pipeline, build } = await gatePipeline('QUEUED');
    const one = await build(1);
    const two = await build(2);
    const three = await build(3);
    expect([await atGate(one), await atGate(two), await atGate(three)]).toEqual(['InProgress InProgress', 'InProgress waiting Pending', 'InProgress waiting Pending']);
    // three is moved on while the index does not show two yet, and the slot frees up between its two tries
    // (freed by hand: this is about three's two tries, not about how one leaves, so one is left as it was).
    meanwhile = {
      hideOnce: two,
      afterFailedAcquire: async (id) => {
        if (id !== three) return;
        meanwhile.afterFailedAcquire = undefined;
        await api.deps.executions.releaseStage(pipeline, 0, one);
      },
    };
    try {
      await advanceExecution(three, api.deps);
    } finally {
      meanwhile = {};
    }
    expect(await atGate(two)).toBe('InProgress InProgress');
    expect(await atGate(three)).toBe('InProgress waiting Pending');
  });

});
