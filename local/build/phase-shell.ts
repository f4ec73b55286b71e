import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The environment and folder a phase leaves behind, for the next phase's shell. */
export interface ShellState {
  env: Record<string, string>;
  cwd: string;
}

export interface PhaseShellResult {
  /** 0 when every command (and every finally command) passed. */
  exitCode: number;
  /** The first command that failed: its text and exit code. */
  failed?: { command: string; exitCode: number } | undefined;
  state: ShellState;
  /** Ended by the deadline or a stop, not by its commands. */
  killed?: 'timeout' | 'stop' | undefined;
}

const INTERNAL = /^__FL_/;

/**
 * Runs a phase's commands in one shell, as buildspec version 0.2 does: a
 * command that fails skips the rest of the phase's commands, `finally` runs
 * after them whatever happened, and what the shell exported (every assignment,
 * with `set -a`) and the folder it ended in carry on to the next phase. The
 * shell leads its own process group, so a deadline or a stop ends every process
 * a command started.
 */
export async function runPhaseShell(options: {
  shell: 'bash' | '/bin/sh';
  commands: readonly string[];
  finally: readonly string[];
  state: ShellState;
  dir: string;
  deadline: number;
  signal?: AbortSignal | undefined;
  onOutput: (chunk: string, stream: 'stdout' | 'stderr') => void;
}): Promise<PhaseShellResult> {
  const { dir } = options;
  const all = [...options.commands, ...options.finally];
  await Promise.all(all.map((command, i) => writeFile(join(dir, `cmd-${i}.sh`), `${command}\n`)));
  const step = (i: number, flag: string) => [
    `if [ "$${flag}" = 0 ]; then`,
    `  printf '[Container] Running command %s\\n' "$(head -c 2000 "$__FL_DIR/cmd-${i}.sh")"`,
    `  . "$__FL_DIR/cmd-${i}.sh"`,
    `  __FL_RC=$?`,
    `  if [ "$__FL_RC" != 0 ]; then ${flag}=$__FL_RC; [ -e "$__FL_DIR/failed" ] || printf '%s %s\\n' ${i} "$__FL_RC" > "$__FL_DIR/failed"; fi`,
    'fi',
  ];
  const script = [
    'set -a',
    `trap '__FL_RC=$?; pwd > "$__FL_DIR/pwd"; env -0 > "$__FL_DIR/env"; exit $__FL_RC' EXIT`,
    `__FL_FAIL=0`,
    `__FL_FINALLY=0`,
    ...options.commands.flatMap((_, i) => step(i, '__FL_FAIL')),
    `[ "$__FL_FAIL" = 0 ] || CODEBUILD_BUILD_SUCCEEDING=0`,
    ': > "$__FL_DIR/reached-finally"',
    ...options.finally.flatMap((_, i) => step(options.commands.length + i, '__FL_FINALLY')),
    '[ "$__FL_FAIL" = 0 ] || exit "$__FL_FAIL"',
    'exit "$__FL_FINALLY"',
  ].join('\n');
  await writeFile(join(dir, 'phase.sh'), `${script}\n`);
  const first = await spawnShell(options, join(dir, 'phase.sh'));
  let state = await readState(dir, options.state);
  let failed = await readFailed(dir, all);
  let exitCode = first.exitCode;
  // A command that ran `exit` ended the shell before finally: finally still runs, in a shell of its own.
  if (!first.killed && options.finally.length > 0 && !(await exists(join(dir, 'reached-finally')))) {
    await mkdir(join(dir, 'finally'));
    const rest = await runPhaseShell({ ...options, commands: [], state: { ...state, env: { ...state.env, CODEBUILD_BUILD_SUCCEEDING: '0' } }, dir: join(dir, 'finally') }).catch(() => undefined);
    if (rest) {
      state = rest.state;
      failed ??= rest.failed;
      if (rest.killed) return { exitCode: exitCode || rest.exitCode, failed, state, killed: rest.killed };
    }
  }
  if (exitCode !== 0 && !failed) failed = { command: '(the phase shell)', exitCode };
  if (failed && exitCode === 0) exitCode = failed.exitCode;
  return { exitCode, failed, state, killed: first.killed };
}

async function spawnShell(
  options: { shell: string; state: ShellState; dir: string; deadline: number; signal?: AbortSignal | undefined; onOutput: (chunk: string, stream: 'stdout' | 'stderr') => void },
  script: string,
): Promise<{ exitCode: number; killed?: 'timeout' | 'stop' }> {
  const child = spawn(options.shell, [script], {
    cwd: options.state.cwd,
    env: { ...options.state.env, __FL_DIR: options.dir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let killed: 'timeout' | 'stop' | undefined;
  const kill = (why: 'timeout' | 'stop') => {
    killed ??= why;
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => kill('timeout'), Math.max(0, options.deadline - Date.now()));
  const onAbort = () => kill('stop');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort);
  child.stdout.setEncoding('utf8').on('data', (c: string) => options.onOutput(c, 'stdout'));
  child.stderr.setEncoding('utf8').on('data', (c: string) => options.onOutput(c, 'stderr'));
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    return killed ? { exitCode: exitCode || 137, killed } : { exitCode };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function readState(dir: string, before: ShellState): Promise<ShellState> {
  const [env, pwd] = await Promise.all([readFile(join(dir, 'env'), 'utf8').catch(() => undefined), readFile(join(dir, 'pwd'), 'utf8').catch(() => undefined)]);
  if (env === undefined) return before;
  const vars: Record<string, string> = {};
  for (const entry of env.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (INTERNAL.test(name) || name === 'PWD' || name === 'OLDPWD' || name === 'SHLVL' || name === '_') continue;
    vars[name] = entry.slice(eq + 1);
  }
  return { env: vars, cwd: pwd?.trim() || before.cwd };
}

async function readFailed(dir: string, commands: readonly string[]): Promise<PhaseShellResult['failed']> {
  const line = await readFile(join(dir, 'failed'), 'utf8').catch(() => undefined);
  if (!line) return undefined;
  const [index, code] = line.trim().split(' ').map(Number);
  return { command: commands[index as number] ?? '?', exitCode: code as number };
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(() => true, () => false);
}
