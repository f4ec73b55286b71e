import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostProcesses, stopHostProcesses } from '../../local/host-processes.js';

/**
 * A local host's hooks may leave a server running (CodeDeploy's agent leaves what a
 * script starts in the background): stopping the local fleet ends those, and only those.
 */
let dir: string;
const started: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-host-processes-'));
});
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function leftRunning(hostRoot: string, script = 'sleep 60'): { child: ChildProcess; ended: Promise<NodeJS.Signals | null> } {
  const child = spawn('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH, FLEETLINE_HOST_ROOT: hostRoot }, stdio: 'ignore' });
  started.push(child);
  const ended = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
  return { child, ended };
}

describe('stopping a local fleet', () => {
  it('ends what the hosts\' hooks left running (TERM, then KILL for what ignores it) and nothing of another folder', async () => {
    const server = leftRunning(join(dir, 'hosts', 'local-1'));
    const stubborn = leftRunning(join(dir, 'hosts', 'local-2'), 'trap "" TERM; sleep 60');
    const otherStack = leftRunning(join(dir, 'hosts-2', 'local-1'));
    // Until a child has exec'd, /proc shows the test's own environment.
    const deadline = Date.now() + 5000;
    const seen = () => hostProcesses(join(dir, 'hosts')).filter((pid) => pid === server.child.pid || pid === stubborn.child.pid).length === 2;
    while (Date.now() < deadline && !seen()) await new Promise((r) => setTimeout(r, 20));

    const stopped = await stopHostProcesses(join(dir, 'hosts'), 300);
    expect(stopped).toEqual(expect.arrayContaining([server.child.pid, stubborn.child.pid]));
    expect(stopped).not.toContain(otherStack.child.pid);
    expect(await server.ended).toBe('SIGTERM');
    expect(await stubborn.ended).toBe('SIGKILL');
    expect(otherStack.child.exitCode === null && otherStack.child.signalCode === null).toBe(true);
  });
});
