import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild } from './dynamodb-local.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export const localAgentPrincipal = (instanceId: string) => `arn:aws:sts::000000000000:assumed-role/fleetline-agent/${instanceId}`;

export interface LocalFleet {
  instanceIds: string[];
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Real agent processes `local-1` … `local-N`, registered with tags env=local and
 * fleet=local. Each keeps its state under <stateDir>/agents/<id>/ and installs
 * appspec destinations under <stateDir>/hosts/<id>/, so nothing lands outside.
 */
export function startLocalFleet(options: { count: number; apiUrl: string; stateDir: string }): LocalFleet {
  const children: ChildProcess[] = [];
  const instanceIds: string[] = [];
  for (let i = 1; i <= options.count; i++) {
    const instanceId = `local-${i}`;
    instanceIds.push(instanceId);
    const agentDir = join(options.stateDir, 'agents', instanceId);
    mkdirSync(agentDir, { recursive: true });
    const out = createWriteStream(join(options.stateDir, 'agents', `${instanceId}.log`), { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'agent/main.ts'),
        'run',
        '--api', options.apiUrl,
        '--instance-id', instanceId,
        '--tags', 'env=local,fleet=local',
        '--state-dir', agentDir,
        '--root', join(options.stateDir, 'hosts', instanceId),
        '--principal', localAgentPrincipal(instanceId),
        '--heartbeat-ms', '500',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    children.push(child);
  }
  return {
    instanceIds,
    pids: children.map((c) => c.pid ?? 0),
    stop: async () => {
      await Promise.all(children.map((c) => stopChild(c, 3000)));
    },
  };
}
