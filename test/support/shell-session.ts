import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ShellResult {
  status: number;
  /** stdout and stderr together, as a terminal shows them. */
  output: string;
}

export interface ShellSession {
  run(command: string, options?: { timeoutMs?: number }): Promise<ShellResult>;
  /** Ends the shell and everything it started (its process group). */
  close(): Promise<void>;
}

/**
 * One bash process that runs commands one after another, as a reader typing
 * them would: `cd`, variables and `$(…)` results carry over. Each command's
 * output goes to a file of its own, with no stdin (the shell's stdin carries
 * the commands); a marker line on the shell's stdout says it ended, and with
 * what status. `pipefail` is on, so a failing command in a pipe is a failure.
 */
export function startShell({ cwd, env, scratch }: { cwd: string; env: NodeJS.ProcessEnv; scratch: string }): ShellSession {
  const outputs = join(scratch, 'shell-output');
  mkdirSync(outputs, { recursive: true });
  const child = spawn('bash', ['--noprofile', '--norc'], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.write('set -o pipefail\n');
  let count = 0;

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };

  return {
    async run(command, { timeoutMs = 300_000 } = {}) {
      const n = ++count;
      const file = join(outputs, `${n}.txt`);
      const marker = new RegExp(`^__readme_done__ ${n} (\\d+)$`, 'm');
      // The group's own line break ends a trailing `# comment`; the marker is its own command, so it runs whatever the group did.
      child.stdin.write(`{ ${command}\n} > '${file}' 2>&1 < /dev/null\nprintf '\\n__readme_done__ ${n} %d\\n' "$?"\n`);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const done = marker.exec(stdout);
        if (done) return { status: Number(done[1]), output: readFileSync(file, 'utf8') };
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`the shell ended while running:\n${command}\n${stderr}`);
        }
        if (Date.now() > deadline) {
          let partial = '';
          try {
            partial = readFileSync(file, 'utf8');
          } catch {
            // nothing written yet
          }
          throw new Error(`still running after ${timeoutMs} ms:\n${command}\n--- output so far ---\n${partial}${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      // Anything a command left running in the background goes too.
      killGroup('SIGKILL');
    },
  };
}
