import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * The watcher: holds a pipe from the process that started the child. A word on
 * the pipe means the child was dealt with; the pipe closing without one means
 * that process died (even by SIGKILL, which no handler of its own sees), so the
 * child gets TERM, then KILL.
 */
const WATCHER = `
const pid = Number(process.argv[1]);
let released = false;
process.stdin.on('data', () => { released = true; process.exit(0); });
process.stdin.on('end', () => {
  if (released) return;
  try { process.kill(pid, 'SIGTERM'); } catch { process.exit(0); }
  setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch {} process.exit(0); }, 3000).unref();
  const gone = setInterval(() => { try { process.kill(pid, 0); } catch { clearInterval(gone); process.exit(0); } }, 100);
});
`;

/**
 * Makes sure `child` does not outlive this process: a server or agent started
 * for a test, a bench or `npm start` ends with whatever started it, however that
 * ended. Costs one small process, which goes when the child does.
 */
export function endWithThisProcess(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const watcher = spawn(process.execPath, ['-e', WATCHER, String(child.pid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  const pipe = watcher.stdin as Socket;
  pipe.on('error', () => undefined); // the watcher may already be gone
  watcher.unref();
  pipe.unref();
  child.once('exit', () => pipe.end('released'));
}
