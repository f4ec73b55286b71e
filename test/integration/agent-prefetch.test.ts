import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type ServerResponse, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../agent/api-client.js';
import { runAssignment } from '../../agent/executor.js';
import { identityMap } from '../../agent/install.js';
import { AgentState } from '../../agent/state.js';
import { pollAnswerSchema, readAnswer } from '../../lib/domain/agent-wire.js';
import { pollAnswerFor } from '../support/agent-assignment.js';
import { script, zipBundle } from '../support/bundles.js';

/**
 * The new revision's bundle is fetched while the previous revision's
 * ApplicationStop scripts run (they only use their own files); DownloadBundle
 * is still reported after ApplicationStop, and when ApplicationStop fails the
 * fetch is abandoned and nothing of the new revision runs.
 */
const dir = mkdtempSync(join(tmpdir(), 'fleetline-agent-prefetch-'));
const PRINCIPAL = 'arn:aws:sts::000000000000:assumed-role/fleetline-agent/pre-1';
const requested = join(dir, 'bundle-requested');
let server: Server;
let base = '';
let bundle: Buffer = Buffer.alloc(0);
/** The bundle's answer is held (never sent) while this is set. */
let holdBundle = false;
const held: ServerResponse[] = [];
const reports: { done: Record<string, any>[]; running?: Record<string, any>; deploymentId: string }[] = [];

beforeAll(async () => {
  bundle = await zipBundle([
    { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: before.sh\n' },
    { path: 'before.sh', content: script(`touch ${JSON.stringify(join(dir, 'new-revision-ran'))}`), mode: 0o755 },
  ]);
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.url === '/bundle') {
      writeFileSync(requested, '');
      if (holdBundle) held.push(res);
      else res.writeHead(200).end(bundle);
    } else if (req.url === '/log') res.writeHead(200).end();
    else if (req.url === '/agent/v1/report') {
      reports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ action: 'continue', instanceStatus: 'InProgress', duplicate: false }));
    } else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  for (const res of held.splice(0)) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** A host whose last success in group g-1 has `stopScript` as its ApplicationStop hook. */
async function hostWithPrevious(name: string, stopScript: string): Promise<AgentState> {
  const root = join(dir, name, 'previous');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'appspec.yml'), 'version: 0.0\nos: linux\nhooks:\n  ApplicationStop:\n    - location: stop.sh\n      timeout: 30\n');
  writeFileSync(join(root, 'stop.sh'), script(stopScript), { mode: 0o755 });
  const state = new AgentState(join(dir, name, 'state'));
  await state.recordSuccess('g-1', { deploymentId: 'd-PREVIOUS0', bundleRoot: root });
  return state;
}

async function run(deploymentId: string, state: AgentState): Promise<boolean> {
  const answer = pollAnswerFor(base, deploymentId, ['ApplicationStop', 'DownloadBundle', 'BeforeInstall', 'Install'], { size: bundle.length });
  const { assignment } = readAnswer(pollAnswerSchema, answer, 'poll answer');
  if (!assignment) throw new Error('expected an assignment');
  const api = new ApiClient(base, { kind: 'local', principal: PRINCIPAL });
  return runAssignment(assignment, { api, instanceId: 'pre-1', state, map: identityMap, heartbeatMs: 60_000, maxBundleBytes: 1e7 });
}

const doneOf = (deploymentId: string) => reports.filter((r) => r.deploymentId === deploymentId).flatMap((r) => r.done);

describe('the bundle is fetched while ApplicationStop runs', () => {
  it('the previous revision\'s ApplicationStop sees the new bundle requested; DownloadBundle is still reported after it', async () => {
    rmSync(requested, { force: true });
    const seen = join(dir, 'seen');
    // The old revision's stop script waits (up to 10 s) for the new bundle to be asked for, and says whether it was.
    const state = await hostWithPrevious('overlap', `for i in $(seq 1 200); do [ -e ${JSON.stringify(requested)} ] && { echo yes > ${JSON.stringify(seen)}; exit 0; }; sleep 0.05; done; echo no > ${JSON.stringify(seen)}`);
    expect(await run('d-PREFETCH1', state)).toBe(true);
    expect(readFileSync(seen, 'utf8').trim()).toBe('yes');
    const done = doneOf('d-PREFETCH1');
    expect(done.map((e) => `${e.event} ${e.status}`)).toEqual(['ApplicationStop Succeeded', 'DownloadBundle Succeeded', 'BeforeInstall Succeeded', 'Install Succeeded']);
    const [stop, download] = done;
    // Its time is the time it really took: it began before ApplicationStop ended.
    expect(Date.parse(download!.startedAt)).toBeLessThan(Date.parse(stop!.endedAt));
    expect(existsSync(join(dir, 'new-revision-ran'))).toBe(true);
    rmSync(join(dir, 'new-revision-ran'), { force: true });
  });

  it('when ApplicationStop fails while the bundle is still on its way, the fetch is abandoned and nothing of the new revision runs', async () => {
    rmSync(requested, { force: true });
    holdBundle = true;
    try {
      // Fails once the bundle was asked for; its answer never comes.
      const state = await hostWithPrevious('failing', `for i in $(seq 1 200); do [ -e ${JSON.stringify(requested)} ] && exit 3; sleep 0.05; done; exit 4`);
      expect(await run('d-PREFETCH2', state)).toBe(false);
    } finally {
      holdBundle = false;
    }
    expect(held.length).toBe(1);
    const done = doneOf('d-PREFETCH2');
    expect(done.map((e) => `${e.event} ${e.status}`)).toEqual(['ApplicationStop Failed']);
    expect(done[0]).toMatchObject({ exitCode: 3, errorCode: 'ScriptFailed' });
    expect(existsSync(join(dir, 'new-revision-ran'))).toBe(false);
  });
});
