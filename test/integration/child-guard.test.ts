import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { isAlive } from '../../local/process-alive.js';
import { repoRoot } from '../support/packaged-template.js';

/** A process that starts a guarded child (one that would otherwise run forever), prints its pid, then waits. */
const PARENT = `
import { spawn } from 'node:child_process';
import { endWithThisProcess } from ${JSON.stringify(join(repoRoot, 'local/child-guard.ts'))};
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
endWithThisProcess(child);
console.log(child.pid);
if (process.argv.includes('--stop-child')) child.kill('SIGTERM');
setInterval(() => {}, 1000);
`;

/** Every process on the machine, with its parent. */
const processes = () =>
  execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .map(([pid, ppid]) => ({ pid, ppid }));

const started: ChildProcess[] = [];
const orphans: number[] = [];
afterEach(() => {
  for (const p of started.splice(0)) p.kill('SIGKILL');
  for (const pid of orphans.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

async function startParent(...args: string[]): Promise<{ parent: ChildProcess; childPid: number }> {
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PARENT, '--', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(parent);
  let out = '';
  parent.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('the child pid', async () => /^\d+\n/.test(out), { timeoutMs: 30_000, intervalMs: 20 });
  const childPid = Number(out.trim().split('\n')[0]);
  orphans.push(childPid);
  return { parent, childPid };
}

describe('a server or agent started by a test, bench or npm start', () => {
  it('ends when what started it is killed outright (SIGKILL, no handler runs)', async () => {
    const { parent, childPid } = await startParent();
    expect(isAlive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    await waitFor('the orphaned child to end', async () => !isAlive(childPid), { timeoutMs: 20_000, intervalMs: 50 });
  });

  it('leaves no watcher behind once the child was stopped the normal way', async () => {
    const { parent, childPid } = await startParent('--stop-child');
    await waitFor('the child to end', async () => !isAlive(childPid), { timeoutMs: 20_000, intervalMs: 50 });
    // The watcher (the parent's only other child) was told the child is dealt with: it goes while the parent runs on.
    await waitFor('the watcher to leave', async () => processes().every((p) => p.ppid !== parent.pid), { timeoutMs: 20_000, intervalMs: 50 });
    expect(parent.exitCode).toBeNull();
  });
});
