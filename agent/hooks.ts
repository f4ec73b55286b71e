import { spawn } from 'node:child_process';
import { accessSync, statSync } from 'node:fs';
import { access, chmod, constants, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { HookScript } from '../lib/domain/appspec.js';
import type { ErrorCode } from '../lib/domain/lifecycle.js';
import type { OutputLog } from './output-buffer.js';
import { type HostView, inHostView } from './host-view.js';
import { HOOK_MARKER_VARIABLE } from './running-hook.js';
import type { Writable } from 'node:stream';

export interface HookResult {
  ok: boolean;
  errorCode?: ErrorCode;
  exitCode?: number | null;
  message?: string;
}

export const KILL_GRACE_MS = 2000;

/**
 * Runs one event's scripts in order, each in its own process group with its
 * own timeout (TERM, then KILL after a grace period). `signal` aborts the
 * running script the same way (a stop request).
 */
export async function runScripts(
  scripts: HookScript[],
  options: HookOptions,
): Promise<HookResult> {
  for (const script of scripts) {
    const result = await runScript(script, options);
    if (!result.ok) return result;
  }
  return { ok: true, exitCode: 0 };
}

export interface HookOptions {
  bundleDir: string;
  /** Where scripts start: `/`, where CodeDeploy's agent runs them (a service's working directory); the host folder in a local fleet. */
  workingDir?: string;
  env: Record<string, string>;
  log: OutputLog;
  signal: AbortSignal;
  /**
   * Told each script's process group ID before the script runs its first
   * instruction, and when it has ended (crash recovery); `marker` is put in the
   * script's environment so the agent can later prove the group is its own.
   */
  track?: { marker: string; started(pgid: number): Promise<void>; ended(): Promise<void> };
  /** Local mode: the host's folder mounted over these destinations while the script runs (host-view.ts). */
  hostView?: { view: HostView; destinations: readonly string[] } | undefined;
}

/** The appspec's `sudo` key (a hook script may carry it; CodeDeploy prefixes the command with sudo). */
type RunnableScript = HookScript & { sudo?: boolean | undefined };

async function runScript(script: RunnableScript, { bundleDir, workingDir = '/', env, log, signal, track, hostView }: HookOptions): Promise<HookResult> {
  const path = resolve(bundleDir, script.location.replace(/^\/+/, ''));
  if (relative(bundleDir, path).startsWith('..')) {
    return { ok: false, errorCode: 'ScriptMissing', message: `${script.location} is outside the bundle` };
  }
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch {
    return { ok: false, errorCode: 'ScriptMissing', message: `Script ${script.location} does not exist in the bundle` };
  }
  try {
    await access(path, constants.X_OK);
  } catch {
    // CodeDeploy's agent makes hook scripts executable before running them; so do we.
    try {
      await chmod(path, 0o755);
      log.line(`${script.location} was not executable; made it executable (chmod 755), as CodeDeploy does`);
    } catch (error) {
      return { ok: false, errorCode: 'ScriptNotExecutable', message: `${script.location} is not executable: ${(error as Error).message}` };
    }
  }
  const account = script.runas ? passwdEntry(script.runas) : undefined;
  if (script.runas && !account) {
    return { ok: false, errorCode: 'ScriptFailed', message: `runas: user "${script.runas}" does not exist` };
  }
  if (account && !script.sudo && process.getuid?.() !== 0) {
    return { ok: false, errorCode: 'ScriptFailed', message: `runas: ${script.runas} needs the agent to run as root (or the hook's sudo: true)` };
  }

  const hookPath = env.PATH ?? process.env.PATH ?? '/usr/bin:/bin';
  if (script.sudo && !onPath('sudo', hookPath)) {
    // CodeDeploy's agent fails such a script too (Errno::ENOENT for sudo); here the cause and the fix are named.
    return {
      ok: false,
      errorCode: 'ScriptFailed',
      message: `${script.location} has sudo: true, but sudo is not installed on this host (not on PATH ${hookPath}): install sudo, or remove the hook's sudo key`,
    };
  }

  log.line(`running ${script.location} (timeout ${script.timeout} s${script.runas ? `, as ${script.runas}` : ''}${script.sudo ? ', with sudo' : ''})`);
  return new Promise<HookResult>((done) => {
    // A shell waits on fd 3 for the go-ahead, then becomes the command (same PID, same start time):
    // the hook's first instruction runs only once the running-hook record is on disk.
    const gated = ['/bin/sh', '-c', 'read -r go <&3 && exec "$@" 3<&-', 'fleetline-hook', ...hookCommand(script, path)];
    // In the host view the mount namespace is made first; su takes on the runas user inside it.
    const launch = hostView ? inHostView(hostView.view, hostView.destinations, gated) : { file: gated[0] as string, args: gated.slice(1) };
    const child = spawn(launch.file, launch.args, {
      cwd: workingDir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/',
        ...(process.env.USER ? { USER: process.env.USER } : {}),
        ...(process.env.LOGNAME ? { LOGNAME: process.env.LOGNAME } : {}),
        ...(process.env.SHELL ? { SHELL: process.env.SHELL } : {}),
        ...env,
        // As su sets them (and for root too, whom su leaves USER and LOGNAME unset for).
        ...(account ? { HOME: account.home, USER: account.name, LOGNAME: account.name, SHELL: account.shell } : {}),
        ...(track ? { [HOOK_MARKER_VARIABLE]: track.marker } : {}),
      },
      detached: true, // its own process group, so the whole tree can be signalled
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const gate = child.stdio[3] as Writable;
    gate.on('error', () => undefined); // the shell may be gone already
    const recorded = child.pid && track ? track.started(child.pid) : Promise.resolve();
    recorded.then(
      () => gate.end('go\n'),
      (error: Error) => {
        gate.destroy();
        signalGroup(child.pid, 'SIGKILL');
        log.line(`could not record the running hook: ${error.message}`);
      },
    );
    let verdict: HookResult | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (why: HookResult) => {
      if (verdict) return;
      verdict = why;
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    // Set when the script itself has exited while something it started still holds its output open.
    let exitedWith: { code: number | null; sig: NodeJS.Signals | null } | undefined;
    const timer = setTimeout(
      () => killGroup(
        exitedWith
          ? { ok: false, errorCode: 'ScriptTimedOut', message: leftOpenMessage(script, exitedWith.code) }
          : { ok: false, errorCode: 'ScriptTimedOut', message: `${script.location} ran past its ${script.timeout} s timeout` },
      ),
      script.timeout * 1000,
    );
    const onAbort = () => killGroup({ ok: false, errorCode: 'ScriptFailed', message: `${script.location} was stopped: the deployment was stopped` });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    child.stdout?.on('data', (d: Buffer) => log.output('stdout', d));
    child.stderr?.on('data', (d: Buffer) => log.output('stderr', d));
    child.once('error', (error) => {
      clearTimeout(timer);
      done({ ok: false, errorCode: 'ScriptFailed', message: `${script.location} could not start: ${error.message}` });
    });
    child.once('exit', (code, sig) => {
      exitedWith = { code, sig };
    });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      // A killed script's group goes with it (timeout, stop). After a script that ended by itself, what it started
      // in the background keeps running, as under CodeDeploy's agent: an ApplicationStart script that starts a
      // server with `nohup … > /dev/null 2>&1 &` leaves it serving.
      if (verdict) signalGroup(child.pid, 'SIGKILL');
      if (killTimer) clearTimeout(killTimer);
      log.endOutput();
      const result: HookResult = verdict
        ? { ...verdict, exitCode: code }
        : code === 0
          ? { ok: true, exitCode: 0 }
          : { ok: false, errorCode: 'ScriptFailed', exitCode: code, message: failureMessage(script, code, sig) };
      // The record goes only once the group is gone, and before the next script starts.
      void recorded
        .catch(() => undefined)
        .then(() => track?.ended())
        .catch(() => undefined)
        .then(() => done(result));
    });
  });
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is already gone
  }
}

/** What CodeDeploy's agent says of a script that failed, with the user for a runas script (a nologin shell ends so, with exit code 1). */
function failureMessage(script: RunnableScript, code: number | null, sig: NodeJS.Signals | null): string {
  if (script.runas && code !== null) return `Script at specified location: ${script.location} run as user ${script.runas} failed with exit code ${code}`;
  return `${script.location} ${code === null ? `was killed by ${sig}` : `exited with ${code}`}`;
}

/**
 * A script that exited but left its stdout or stderr open (a process it started in the
 * background holds them) until its timeout: CodeDeploy's agent fails it too, "failed to close STDOUT".
 */
function leftOpenMessage(script: RunnableScript, code: number | null): string {
  return `${script.location} exited${code === null ? '' : ` with ${code}`} but left its stdout or stderr open for its ${script.timeout} s timeout: `
    + 'a process it started in the background still holds them (start it with its output redirected, e.g. `nohup ./server > /dev/null 2>&1 &`)';
}

/**
 * The command CodeDeploy's agent runs: the script itself, `su <user> -c <script>`
 * for runas (the user's own login shell runs it, and refuses when that shell is
 * nologin), and `sudo` in front of either when the hook says sudo: true.
 */
function hookCommand(script: RunnableScript, path: string): string[] {
  const command = script.runas ? ['su', script.runas, '-c', shellQuoted(path)] : [path];
  return script.sudo ? ['sudo', ...command] : command;
}

/** Whether `name` is an executable file in one of PATH's folders (as exec would find it). */
function onPath(name: string, path: string): boolean {
  return path.split(':').some((dir) => {
    if (!dir.startsWith('/')) return false;
    try {
      accessSync(resolve(dir, name), constants.X_OK);
      return statSync(resolve(dir, name)).isFile();
    } catch {
      return false;
    }
  });
}

const shellQuoted = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

interface PasswdEntry {
  name: string;
  home: string;
  shell: string;
}

/** The user's entry in the password database (files, LDAP, whatever NSS is configured with). */
function passwdEntry(user: string): PasswdEntry | undefined {
  try {
    const [name, , , , , home, shell] = execFileSync('getent', ['passwd', '--', user], { encoding: 'utf8' }).trim().split('\n')[0]?.split(':') ?? [];
    return name && home !== undefined && shell !== undefined ? { name, home, shell: shell || '/bin/sh' } : undefined;
  } catch {
    return undefined;
  }
}
