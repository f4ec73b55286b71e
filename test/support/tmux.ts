import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../local/ports.js';

export const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * An interactive bash in a real terminal (a tmux pane on a server of its own),
 * typed into as a person would: keys go through the terminal's line
 * discipline, so Ctrl-C, Ctrl-Z and Ctrl-\ become signals only if the program
 * left the terminal in its normal mode.
 */
export function startTerminal(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'fleetline-tmux-'));
  const socket = join(dir, 'socket');
  // Not CI: the spinner animates only where a person could be watching.
  const { CI: _ci, TMUX: _tmux, ...inherited } = process.env;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8', env: { ...inherited, ...env, TERM: 'xterm-256color' } });
  tmux('new-session', '-d', '-s', 'cli', '-x', '120', '-y', '40', 'bash --norc --noprofile -i');
  tmux('set-option', '-g', 'history-limit', '5000');
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-5000', '-t', 'cli');
  return {
    /** Types a line and presses Enter. */
    type: (line: string) => {
      tmux('send-keys', '-t', 'cli', '-l', line);
      tmux('send-keys', '-t', 'cli', 'Enter');
    },
    /** Presses a key, e.g. C-c. */
    press: (key: string) => tmux('send-keys', '-t', 'cli', key),
    screen,
    waitForScreen: async (what: string, pattern: RegExp, timeoutMs = 60_000) => {
      try {
        await waitFor(what, () => pattern.test(screen()), { timeoutMs, intervalMs: 100 });
      } catch (error) {
        throw new Error(`${(error as Error).message}; the terminal shows:\n${screen().trimEnd().split('\n').slice(-15).join('\n')}`, { cause: error });
      }
    },
    stop: () => {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
