import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endWithThisProcess } from './child-guard.js';
import { stopChild } from './dynamodb-local.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export const localAgentPrincipal = (instanceId: string) => `arn:aws:sts::000000000000:assumed-role/fleetline-agent/${instanceId}`;

/** Where a local agent's output goes (it appends across restarts). */
export const localAgentLog = (stateDir: string, instanceId: string) => join(stateDir, 'agents', `${instanceId}.log`);

export interface LocalFleet {
  instanceIds: string[];
  pids: number[];
  stop(): Promise<void>;
}

export const LOCAL_AGENT_TAGS = [
  { key: 'env', value: 'local' },
  { key: 'fleet', value: 'local' },
];

/**
 * Registers the local instances that do not exist yet, with tags env=local and
 * fleet=local, as an administrator would. Existing ones keep the tags they were
 * given through the API: agents never re-register over them. Returns the IDs created.
 */
export async function registerLocalInstances(apiUrl: string, instanceIds: string[]): Promise<string[]> {
  const created: string[] = [];
  for (const instanceId of instanceIds) {
    const existing = await fetch(`${apiUrl}/instances/${instanceId}`);
    await existing.arrayBuffer();
    if (existing.status === 200) continue;
    if (existing.status !== 404) throw new Error(`GET /instances/${instanceId}: HTTP ${existing.status}`);
    const res = await fetch(`${apiUrl}/instances/${instanceId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tags: LOCAL_AGENT_TAGS }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`registering ${instanceId}: HTTP ${res.status} ${text}`);
    created.push(instanceId);
  }
  return created;
}

/**
 * Real agent processes for the given instances. Each keeps its state under
 * <stateDir>/agents/<id>/ (its own log in <stateDir>/agents/<id>.log) and
 * installs appspec destinations under <stateDir>/hosts/<id>/, so nothing lands outside.
 */
export function startLocalFleet(options: { instanceIds: string[]; apiUrl: string; stateDir: string }): LocalFleet {
  const children: ChildProcess[] = [];
  const instanceIds = options.instanceIds;
  for (const instanceId of instanceIds) {
    const agentDir = join(options.stateDir, 'agents', instanceId);
    mkdirSync(agentDir, { recursive: true });
    const out = createWriteStream(localAgentLog(options.stateDir, instanceId), { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'agent/main.ts'),
        'run',
        '--api', options.apiUrl,
        '--instance-id', instanceId,
        '--state-dir', agentDir,
        '--root', join(options.stateDir, 'hosts', instanceId),
        '--principal', localAgentPrincipal(instanceId),
        '--heartbeat-ms', '500',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    endWithThisProcess(child);
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
