import { randomUUID } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import type { AgentState } from './state.js';

/** Set in every hook's environment (inherited by what it starts), so a restarted agent can tell its hooks apart. */
export const HOOK_MARKER_VARIABLE = 'FLEETLINE_HOOK_ID';

interface Record {
  pgid: number;
  /** The leader's start time in clock ticks since boot (/proc/<pid>/stat, field 22). */
  startTime: string;
  marker: string;
}

/** Linux's view of a process: its group and start time, or undefined once it is gone. */
async function procStat(pid: number): Promise<{ pgrp: number; startTime: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(fields[2]), startTime: fields[19] as string };
  } catch {
    return undefined;
  }
}

async function hasMarker(pid: number, marker: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').includes(`${HOOK_MARKER_VARIABLE}=${marker}`);
  } catch {
    return false;
  }
}

/**
 * The record of the hook process group in flight (`running-hook.json` in the
 * agent's state folder). It is written before the hook runs its first
 * instruction and removed after the hook has ended, both awaited, so a restarted
 * agent finds it only when a hook may still be running.
 */
export class RunningHook {
  readonly marker = randomUUID();

  constructor(private readonly state: AgentState) {}

  get file(): string {
    return `${this.state.dir}/running-hook.json`;
  }

  /** Records the hook whose leader is `pid` (a process group of its own). */
  async started(pid: number): Promise<void> {
    const stat = await procStat(pid);
    const record: Record = { pgid: pid, startTime: stat?.startTime ?? '', marker: this.marker };
    await this.state.writeJson(this.file, record);
  }

  async ended(): Promise<void> {
    await rm(this.file, { force: true });
  }

  /**
   * At start-up: ends what a crash left running, but only a group this agent
   * can prove it started — a member carrying the hook's marker in its
   * environment, and the leader (if still there) with the recorded start time.
   * A process ID reused by anything else is left alone. Returns what it did.
   */
  static async endLeftover(state: AgentState): Promise<'none' | 'killed' | 'not ours'> {
    const file = `${state.dir}/running-hook.json`;
    const record = await state.readJson<Partial<Record> | undefined>(file, undefined);
    await rm(file, { force: true });
    if (!record?.pgid || !record.marker) return 'none';
    const leader = await procStat(record.pgid);
    if (leader && (leader.startTime !== record.startTime || leader.pgrp !== record.pgid)) return 'not ours';
    const members: number[] = [];
    for (const name of await readdir('/proc').catch(() => [] as string[])) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 1) continue;
      const stat = await procStat(pid);
      if (stat?.pgrp === record.pgid && (await hasMarker(pid, record.marker))) members.push(pid);
    }
    if (members.length === 0) return 'not ours';
    try {
      process.kill(-record.pgid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
    return 'killed';
  }
}
