import type { Answer } from '../lib/api/operation-types.js';
import { ApiError, type FleetlineApi } from './api.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many failed reads in a row (API unreachable, 5xx, throttled) the follower rides out, a second apart. */
const TRANSIENT_FAILURES = 5;

export interface FollowOutcome {
  status: string;
  /** Nothing came live (the instance had ended, or never streamed): the caller shows the full log instead. */
  streamed: boolean;
}

/**
 * `fleetline logs <deployment> <instance> --follow`: reads the instance's live
 * log by cursor (GET …/instances/{instanceId}/log?follow=true, docs/live-logs.md)
 * and writes each chunk as it comes; the reads hold the follower lease, so the
 * agent streams only while this runs. Returns once the instance has ended,
 * every chunk written.
 */
export async function followLog(api: FleetlineApi, deploymentId: string, instanceId: string, write: (text: string) => void, say: (line: string) => void): Promise<FollowOutcome> {
  let cursor = -1;
  let failures = 0;
  let waiting = false;
  for (;;) {
    let answer: Answer<'getDeploymentInstanceLog'>;
    try {
      answer = await api.call('getDeploymentInstanceLog', { id: deploymentId, instanceId, cursor, follow: 'true' });
      failures = 0;
    } catch (error) {
      // A deployment just created has no instances until the worker has resolved its targets: wait for them.
      if (error instanceof ApiError && error.status === 404 && (await resolving(api, deploymentId))) {
        if (!waiting) say(`${deploymentId}: Created, waiting for its targets`);
        waiting = true;
        await sleep(500);
        continue;
      }
      const transient = error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);
      if (!transient || ++failures > TRANSIENT_FAILURES) throw error;
      await sleep(1000);
      continue;
    }
    for (const chunk of answer.chunks) write(chunk.text);
    cursor = answer.cursor;
    if (answer.more) continue;
    if (answer.ended) return { status: answer.instanceStatus, streamed: cursor >= 0 };
    if (answer.instanceStatus === 'Pending' && !waiting) say(`${instanceId}: Pending, waiting for its agent to start it`);
    waiting = answer.instanceStatus === 'Pending';
    await sleep(answer.pollAfterMs);
  }
}

/** Whether the deployment exists and is still Created (its targets not resolved yet); a 404 for it says no. */
async function resolving(api: FleetlineApi, deploymentId: string): Promise<boolean> {
  try {
    return (await api.call('getDeployment', { id: deploymentId })).status === 'Created';
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}
