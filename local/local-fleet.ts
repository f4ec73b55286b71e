import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endWithThisProcess } from './child-guard.js';
import { stopChild } from './dynamodb-local.js';
import { stopHostProcesses } from './host-processes.js';

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

/** How long a dead local agent waits before it is started again (doubling, up to a minute, while it keeps dying at once). */
const RESTART_DELAYS_MS = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000];
/** An agent that ran this long before dying counts as having started well: its next restart waits the first delay again. */
const STEADY_MS = 60_000;

/**
 * Real agent processes for the given instances. Each keeps its state under
 * <stateDir>/agents/<id>/ (its own log in <stateDir>/agents/<id>.log) and
 * installs appspec destinations under <stateDir>/hosts/<id>/, so nothing lands outside.
 * An agent that dies is started again, as systemd does on a host, and `log` says so.
 * Stopping the fleet also ends what the hosts' hooks left running (a server a hook started).
 */
export function startLocalFleet(options: { instanceIds: string[]; apiUrl: string; stateDir: string; log?: (line: string) => void }): LocalFleet {
  const log = options.log ?? ((line: string) => console.log(line));
  const children = new Map<string, ChildProcess>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  const instanceIds = options.instanceIds;
  const start = (instanceId: string, restarts: number) => {
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
    children.set(instanceId, child);
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      if (stopping) return;
      const attempt = Date.now() - startedAt >= STEADY_MS ? 0 : restarts;
      const delay = RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]!;
      log(`Local agent ${instanceId} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); starting it again in ${delay / 1000} s (log: ${localAgentLog(options.stateDir, instanceId)})`);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopping) start(instanceId, attempt + 1);
      }, delay);
      timers.add(timer);
    });
  };
  for (const instanceId of instanceIds) start(instanceId, 0);
  return {
    instanceIds,
    get pids() {
      return instanceIds.map((id) => children.get(id)?.pid ?? 0);
    },
    stop: async () => {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([...children.values()].map((c) => stopChild(c, 3000)));
      // The hosts go down with their agents: what their hooks left running (a server) stops too.
      await stopHostProcesses(join(options.stateDir, 'hosts'));
    },
  };
}
