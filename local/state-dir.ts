import { existsSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from './process-alive.js';

/** Where `npm start` keeps its state: FLEETLINE_STATE_DIR, else .fleetline/ in the repository. */
export function localStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.FLEETLINE_STATE_DIR || fileURLToPath(new URL('../.fleetline', import.meta.url)));
}

/** How to show a state dir to the user: relative when it is under the current folder. */
export function displayPath(dir: string, cwd = process.cwd()): string {
  const rel = relative(cwd, dir);
  return rel && !rel.startsWith('..') && !rel.startsWith('/') ? `${rel}/` : `${dir}/`;
}

/** What a running stack tells other local commands (npm run upload, fleetline) about itself. */
export interface StackInfo {
  pid: number;
  apiUrl: string;
  s3Endpoint: string;
  dynamoDbEndpoint: string;
  bucket: string;
}

const STACK_FILE = 'stack.json';

export function writeStackInfo(stateDir: string, info: StackInfo): void {
  writeFileSync(join(stateDir, STACK_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

export function removeStackInfo(stateDir: string, pid = process.pid): void {
  const current = readStackInfo(stateDir, { liveOnly: false });
  if (current?.pid === pid) unlinkSync(join(stateDir, STACK_FILE));
}

/** The running stack's info, or undefined when none is running from this state dir. */
export function readStackInfo(stateDir: string, { liveOnly = true } = {}): StackInfo | undefined {
  let info: StackInfo;
  try {
    info = JSON.parse(readFileSync(join(stateDir, STACK_FILE), 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
  if (typeof info?.apiUrl !== 'string' || typeof info.pid !== 'number') return undefined;
  if (liveOnly && !isAlive(info.pid)) return undefined;
  return info;
}

const STATE_ENTRIES = new Set(['dynamodb', 's3', 'agents', 'hosts', STACK_FILE]);

/**
 * `npm run reset`: wipes the state dir, refusing while a stack runs from it or
 * when it holds anything `npm start` did not put there (a mistyped
 * FLEETLINE_STATE_DIR must never delete someone's files).
 */
export function resetState(stateDir: string): string {
  if (!existsSync(stateDir)) return `nothing to reset: ${stateDir} does not exist`;
  const running = readStackInfo(stateDir);
  if (running) throw new Error(`Fleetline is running from ${stateDir} (pid ${running.pid}); stop it first`);
  const foreign = readdirSync(stateDir).filter((name) => !STATE_ENTRIES.has(name));
  if (foreign.length > 0) {
    throw new Error(`${stateDir} holds files Fleetline did not write (${foreign.slice(0, 5).join(', ')}); not deleting it`);
  }
  rmSync(stateDir, { recursive: true, force: true });
  return `removed ${stateDir}`;
}
