import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort, waitFor } from '../../local/ports.js';
import { repoRoot } from './packaged-template.js';

export interface LocalFleetline {
  apiUrl: string;
  ports: { api: number; s3: number; dynamoDb: number };
  output(): string;
  /** SIGTERM, and resolves with the exit code once the process has gone. */
  stop(): Promise<number | null>;
  child: ChildProcess;
}

export async function pickPorts() {
  return { api: await freePort(), s3: await freePort(), dynamoDb: await freePort() };
}

/** Runs `npm start`'s entry point as its own process, on the given ports and state dir. */
export async function startLocalFleetline(
  stateDir: string,
  ports: LocalFleetline['ports'],
  env: Record<string, string> = { FLEETLINE_LOCAL_AGENTS: '0' },
): Promise<LocalFleetline> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(ports.api),
      S3_PORT: String(ports.s3),
      DYNAMODB_PORT: String(ports.dynamoDb),
      FLEETLINE_STATE_DIR: stateDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  try {
    await waitFor('Fleetline to start', () => {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      return output.includes('Fleetline is running locally');
    }, { timeoutMs: 180_000, intervalMs: 100 });
  } catch (error) {
    await stop();
    throw error;
  }
  return { apiUrl: `http://127.0.0.1:${ports.api}`, ports, output: () => output, stop, child };
}

/** True when something accepts TCP connections on the loopback port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
