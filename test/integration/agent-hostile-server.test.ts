import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAgentArgs } from '../../agent/cli-options.js';
import { runAgent } from '../../agent/main.js';
import { AgentState } from '../../agent/state.js';
import { waitFor } from '../../local/ports.js';
import { startAgent } from '../support/agent-process.js';
import { pollAnswerFor } from '../support/agent-assignment.js';
import { script, zipBundle } from '../support/bundles.js';

/**
 * A server the agent cannot trust: whatever it answers (path-like IDs and
 * event names, destinations that climb out of the host root, or an assignment
 * it says to stop), the agent writes and deletes only under its root and state
 * folder, and runs nothing it was told to stop.
 */
const dir = mkdtempSync(join(tmpdir(), 'fleetline-hostile-server-'));
const PRINCIPAL = 'arn:aws:sts::000000000000:assumed-role/fleetline-agent/hostile-1';
let server: Server;
let base = '';
let bundle: Buffer = Buffer.alloc(0);
let pollAnswer: unknown = { assignment: null, pollAfterSeconds: 10 };
const reports: { deploymentId: string; done: Record<string, unknown>[] }[] = [];
let bundleRequests = 0;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const json = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.url === '/bundle') {
      bundleRequests++;
      res.writeHead(200).end(bundle);
    } else if (req.url === '/log') res.writeHead(200).end();
    else if (req.url === '/agent/v1/register') json({});
    else if (req.url === '/agent/v1/report') {
      reports.push(JSON.parse(body));
      json({ action: 'continue', instanceStatus: 'InProgress', duplicate: false });
    } else if (req.url === '/agent/v1/poll') {
      const asked = JSON.parse(body);
      json(asked.heartbeat ? { action: 'continue', heartbeatSeconds: 5, assignment: { deploymentId: asked.deploymentId } } : pollAnswer);
    } else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Every path under `top` with its kind and content (or mode), for before/after comparisons. */
function snapshot(top: string): Record<string, string> {
  const seen: Record<string, string> = {};
  const visit = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      const key = relative(top, full);
      if (entry.isDirectory()) {
        seen[key] = `dir ${(statSync(full).mode & 0o7777).toString(8)}`;
        visit(full);
      } else seen[key] = entry.isFile() ? `file ${readFileSync(full, 'base64')}` : 'other';
    }
  };
  visit(top);
  return seen;
}

describe('a hostile server', () => {
  it('cannot make the agent write or delete outside its root and state folder, whatever IDs, event names and destinations it sends', async () => {
    const sandbox = join(dir, 'sandbox');
    const victim = join(sandbox, 'victim');
    // What a path-like answer would reach from the state folder (sandbox/state/groups/<id>/…, sandbox/state/deployments/<id>/…).
    mkdirSync(join(victim, 'bundle'), { recursive: true });
    writeFileSync(join(victim, 'keep.txt'), 'precious');
    writeFileSync(join(victim, 'bundle', 'keep.txt'), 'precious');
    // Bait for an agent that reads a group's record through a climbing ID: it names a file of the sandbox, never one of the host's.
    writeFileSync(join(victim, 'installed.json'), JSON.stringify([join(victim, 'keep.txt')]));
    const root = join(sandbox, 'host');
    const stateDir = join(sandbox, 'state');
    const before = snapshot(victim);

    const climbing = ['..', '.', '../victim', '../../victim', '../../../victim', '../../victim/bundle', 'a/../../../victim', victim, `${victim}/x`, '', 'g 1', '.hidden'];
    const id = (valid: string) => fc.oneof(fc.constant(valid), fc.constantFrom(...climbing), fc.string({ maxLength: 12 }));
    const destination = fc.constantFrom('/srv/app', '/../../victim', '/../../../victim/bundle', '/..', '/');
    let ran = 0;
    let refused = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        id('g-1'),
        id(`d-HOSTILE${'0'.repeat(2)}`),
        fc.array(id('BeforeInstall'), { minLength: 0, maxLength: 2 }),
        destination,
        destination,
        async (groupId, deploymentIdBase, extraEvents, filesTo, permissionsOn) => {
          const deploymentId = deploymentIdBase === 'd-HOSTILE00' ? `d-HOSTILE${String(runs++ % 100).padStart(2, '0')}` : deploymentIdBase;
          bundle = await zipBundle([
            {
              path: 'appspec.yml',
              content: `version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: ${filesTo}\npermissions:\n  - object: ${permissionsOn}\n    mode: 700\n    type: [file]\n`,
            },
            { path: 'site/index.html', content: 'hostile' },
          ]);
          const answer = pollAnswerFor(base, deploymentId, ['ApplicationStop', 'DownloadBundle', 'BeforeInstall', 'Install', ...extraEvents], {
            size: bundle.length,
            sha256: createHash('sha256').update(bundle).digest('hex'),
          });
          answer.assignment.deploymentGroupId = groupId;
          answer.assignment.events = [...new Map(answer.assignment.events.map((e) => [e.name, e])).values()];
          pollAnswer = answer;
          const lines: string[] = [];
          const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
          const options = parseAgentArgs(['run', '--api', base, '--instance-id', 'hostile-1', '--principal', PRINCIPAL, '--state-dir', stateDir, '--root', root, '--once']);
          try {
            await runAgent(options, new AbortController().signal);
            ran++;
          } catch (error) {
            expect((error as Error).message).toMatch(/does not match the agent protocol/);
            refused++;
          } finally {
            spy.mockRestore();
          }
          expect(snapshot(victim)).toEqual(before);
          expect(readdirSync(sandbox).filter((n) => !['host', 'state', 'victim'].includes(n))).toEqual([]);
          expect(readdirSync(dir).sort()).toEqual(['sandbox']);
        },
      ),
      { numRuns: 60 },
    );
    // Both kinds of answer were really tried: some ran to the end, some were refused at the door.
    expect(ran).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 240_000);
});

describe('an assignment the poll answer says to stop', () => {
  it('is never downloaded, installed or run, not even the last revision\'s ApplicationStop; every event is reported Skipped', async () => {
    const stateRoot = join(dir, 'stop');
    const instanceId = 'stop-1';
    const agentState = new AgentState(join(stateRoot, 'agents', instanceId));
    const previous = join(stateRoot, 'previous');
    const ranStop = join(stateRoot, 'application-stop-ran');
    mkdirSync(previous, { recursive: true });
    writeFileSync(join(previous, 'appspec.yml'), 'version: 0.0\nos: linux\nhooks:\n  ApplicationStop:\n    - location: stop.sh\n');
    writeFileSync(join(previous, 'stop.sh'), script(`touch ${JSON.stringify(ranStop)}`), { mode: 0o755 });
    await agentState.recordSuccess('g-1', { deploymentId: 'd-PREVIOUS0', bundleRoot: previous });

    bundle = await zipBundle([{ path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' }]);
    bundleRequests = 0;
    const answer = pollAnswerFor(base, 'd-STOPPED00', ['ApplicationStop', 'DownloadBundle', 'BeforeInstall', 'Install', 'AfterInstall'], { size: bundle.length });
    pollAnswer = { ...answer, action: 'stop' };
    const agent = startAgent({ apiUrl: base, instanceId, stateDir: stateRoot, tags: 'fleet=stop', extraArgs: ['--once'] });
    try {
      await waitFor('the agent to finish its one poll', async () => agent.child.exitCode !== null, { timeoutMs: 30_000, intervalMs: 50 });
    } finally {
      await agent.stop();
    }
    expect(agent.child.exitCode).toBe(0);
    expect(bundleRequests).toBe(0);
    expect(existsSync(ranStop)).toBe(false);
    expect(existsSync(join(stateRoot, 'hosts', instanceId))).toBe(false);
    const done = reports.filter((r) => r.deploymentId === 'd-STOPPED00').flatMap((r) => r.done);
    expect(done.map((e) => [e.event, e.status])).toEqual([
      ['ApplicationStop', 'Skipped'],
      ['DownloadBundle', 'Skipped'],
      ['BeforeInstall', 'Skipped'],
      ['Install', 'Skipped'],
      ['AfterInstall', 'Skipped'],
    ]);
    expect((await agentState.lastSuccess('g-1'))?.deploymentId).toBe('d-PREVIOUS0');
  }, 60_000);
});
