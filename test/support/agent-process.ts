import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { endWithThisProcess } from '../../local/child-guard.js';
import { stopChild } from '../../local/dynamodb-local.js';
import { localAgentPrincipal } from '../../local/local-fleet.js';
import { repoRoot } from './packaged-template.js';

/** One real agent process of the test's own, so the test may kill and restart it. */
export function startAgent(options: { apiUrl: string; instanceId: string; stateDir: string; tags: string; extraArgs?: string[] }) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'agent/main.ts'),
      'run',
      '--api', options.apiUrl,
      '--instance-id', options.instanceId,
      '--tags', options.tags,
      '--state-dir', join(options.stateDir, 'agents', options.instanceId),
      '--root', join(options.stateDir, 'hosts', options.instanceId),
      '--principal', localAgentPrincipal(options.instanceId),
      '--heartbeat-ms', '500',
      ...(options.extraArgs ?? []),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  endWithThisProcess(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output, stop: () => stopChild(child, 3000) };
}
