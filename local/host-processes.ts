import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

/** The variable every hook of a rooted agent gets (agent/host-view.ts), inherited by what the hook starts. */
const HOST_ROOT_VARIABLE = 'FLEETLINE_HOST_ROOT';

/**
 * The processes that hooks of the local hosts under `hostsDir` left running (a server an
 * ApplicationStart script started), found by the host folder in their environment. A local
 * host has no shutdown of its own: stopping the local fleet is its shutdown.
 */
export function hostProcesses(hostsDir: string): number[] {
  const prefix = `${HOST_ROOT_VARIABLE}=${resolve(hostsDir)}/`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.split('\0').some((v) => v.startsWith(prefix))) found.push(Number(entry));
    } catch {
      // gone, or another user's
    }
  }
  return found;
}

/** Ends what hooks of the local hosts left running: TERM, then KILL after `graceMs` for what is still there. */
export async function stopHostProcesses(hostsDir: string, graceMs = 3000): Promise<number[]> {
  const pids = hostProcesses(hostsDir);
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = pids;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const still = new Set(hostProcesses(hostsDir));
    left = left.filter((pid) => still.has(pid));
  }
  for (const pid of left) signal(pid, 'SIGKILL');
  return pids;
}
