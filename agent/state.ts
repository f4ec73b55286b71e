import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPathSafeId } from '../lib/domain/agent-wire.js';
import type { InstalledPaths } from './install.js';

/** How many revisions the agent keeps per deployment group. */
export const KEPT_REVISIONS = 5;

export interface LastSuccess {
  deploymentId: string;
  /** The bundle root of that revision (its appspec and scripts run ApplicationStop next time). */
  bundleRoot: string;
}

/**
 * A folder only the agent's user may list or enter (0700), made so if it was
 * not; its parents are created traversable only (0711): hooks run as other
 * users must still reach their bundles under the state folder.
 */
export async function privateFolder(path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o711 });
  await mkdir(path, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const info = await stat(path);
  if ((info.mode & 0o777) !== 0o700) await chmod(path, 0o700);
}

/**
 * The state folder itself: traversable only (0711), made so if it was not.
 * Hooks run as other users must pass through it to reach their bundles; nobody
 * but the agent's user lists what is here, and each file in it is 0600.
 */
export async function traversableFolder(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o711 });
  const info = await stat(path);
  if ((info.mode & 0o777) !== 0o711) await chmod(path, 0o711);
}

/**
 * The full hook log of a deployment: deployments/<id>/logs/log.txt, a 0600 file
 * in a 0700 folder, so that a runas hook of one application cannot read what
 * another one printed (the bundle beside it stays readable to its scripts).
 */
export async function hookLogFile(state: AgentState, deploymentId: string): Promise<string> {
  const folder = join(state.deploymentDir(deploymentId), 'logs');
  await privateFolder(folder);
  return join(folder, 'log.txt');
}

/** The wire contract already refuses such IDs; this keeps the state folder closed even to a caller that skipped it. */
function segment(id: string, what: string): string {
  if (!isPathSafeId(id)) throw new UnsafeStateIdError(`refused ${what} ${JSON.stringify(id.slice(0, 100))}: not a plain name the state folder can hold`);
  return id;
}

export class UnsafeStateIdError extends Error {
  override readonly name = 'UnsafeStateIdError';
}

/**
 * The agent's state folder:
 *   deployments/<id>/  the downloaded bundle, its extracted files, the full log
 *   groups/<groupId>/  installed.json (files the last Install put in place),
 *                      last-success.json, history.json (deployment IDs, oldest first)
 */
export class AgentState {
  constructor(readonly dir: string) {}

  deploymentDir(deploymentId: string): string {
    return join(this.dir, 'deployments', segment(deploymentId, 'deployment ID'));
  }

  private groupFile(groupId: string, name: string): string {
    return join(this.dir, 'groups', segment(groupId, 'deployment group ID'), name);
  }

  async readJson<T>(path: string, fallback: T): Promise<T> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch {
      return fallback;
    }
  }

  /** Write-then-rename, so a crash never leaves a half-written file; readable by root only (0600 in a 0700 folder). */
  async writeJson(path: string, value: unknown): Promise<void> {
    // A record kept in the state folder itself (the running hook's) must not close it to runas hooks.
    const folder = join(path, '..');
    await (folder === this.dir ? traversableFolder(folder) : privateFolder(folder));
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(value, null, 2), { mode: 0o600 });
    await rename(temp, path);
  }

  /** What the group's last Install put in place (an agent before folders were recorded kept files only). */
  async installedFiles(groupId: string): Promise<InstalledPaths> {
    const stored = await this.readJson<InstalledPaths | string[]>(this.groupFile(groupId, 'installed.json'), []);
    return Array.isArray(stored)
      ? { files: stored, directories: [] }
      : { files: stored.files ?? [], directories: stored.directories ?? [], contexts: stored.contexts ?? [] };
  }

  async saveInstalledFiles(groupId: string, installed: InstalledPaths, groupName?: string): Promise<void> {
    if (groupName) await this.writeJson(this.groupFile(groupId, 'name.json'), groupName);
    await this.writeJson(this.groupFile(groupId, 'installed.json'), installed);
  }

  /** Every file other deployment groups installed on this host, with the group's name (or ID). */
  async filesOfOtherGroups(groupId: string): Promise<Map<string, string>> {
    const owners = new Map<string, string>();
    for (const other of await readdir(join(this.dir, 'groups')).catch(() => [] as string[])) {
      if (other === groupId || !isPathSafeId(other)) continue;
      const name = await this.readJson<string>(this.groupFile(other, 'name.json'), other);
      for (const file of (await this.installedFiles(other)).files) owners.set(file, `"${name}"`);
    }
    return owners;
  }

  lastSuccess(groupId: string): Promise<LastSuccess | undefined> {
    return this.readJson<LastSuccess | undefined>(this.groupFile(groupId, 'last-success.json'), undefined);
  }

  /** Records a successful revision and removes all but the last few of the group's deployments. */
  async recordSuccess(groupId: string, success: LastSuccess): Promise<void> {
    await this.writeJson(this.groupFile(groupId, 'last-success.json'), success);
    const history = await this.readJson<string[]>(this.groupFile(groupId, 'history.json'), []);
    const kept = [...history.filter((id) => id !== success.deploymentId), success.deploymentId];
    const dropped = kept.splice(0, Math.max(0, kept.length - KEPT_REVISIONS));
    for (const id of dropped) await rm(this.deploymentDir(id), { recursive: true, force: true });
    await this.writeJson(this.groupFile(groupId, 'history.json'), kept);
  }

  /** Deployment folders that are in no group's history any more (failed ones) are removed, but the current one. */
  async pruneFailed(keep: string): Promise<void> {
    const groups = (await readdir(join(this.dir, 'groups')).catch(() => [] as string[])).filter(isPathSafeId);
    const wanted = new Set([keep]);
    for (const group of groups) {
      for (const id of await this.readJson<string[]>(this.groupFile(group, 'history.json'), [])) wanted.add(id);
    }
    const all = (await readdir(join(this.dir, 'deployments')).catch(() => [] as string[])).filter(isPathSafeId);
    for (const id of all) if (!wanted.has(id)) await rm(this.deploymentDir(id), { recursive: true, force: true });
  }
}
