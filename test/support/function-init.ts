import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from './packaged-template.js';

/** The configuration Lambda gives every packaged function (see serverless.yml), with bench/test values. */
export const FUNCTION_ENV = {
  TABLE_NAME: 'fleetline-bench',
  ARTIFACT_BUCKET: 'fleetline-bench-artifacts',
  AWS_REGION: 'us-east-1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  ADMIN_PRINCIPALS: 'arn:aws:iam::111122223333:role/platform-admin',
  AGENT_ACCOUNTS: '111122223333',
};

export interface InitLoad {
  /** Every JavaScript file of the bundle evaluated at cold start, with its size. */
  modules: { url: string; bytes: number }[];
  /** Node's own modules (tls, http, crypto, …) first loaded by the cold start. */
  builtins: string[];
}

// A module-load hook in the probed process reports each file it loads; load-independent,
// unlike a time, so it can be compared across runs on a busy machine.
const HOOKS = `
let port;
export function initialize(data) {
  port = data.port;
  // Answered after every report before it: the port keeps order.
  port.on('message', () => port.postMessage('flushed'));
  port.unref();
}
export async function load(url, context, next) {
  const result = await next(url, context);
  if (url.startsWith('file:')) port.postMessage({ url, bytes: result.source ? Buffer.byteLength(result.source) : 0 });
  return result;
}`;

const PROBE = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const modules = [];
let flushed;
port1.on('message', (m) => (m === 'flushed' ? flushed() : modules.push(m)));
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), { data: { port: port2 }, transferList: [port2] });
const before = new Set(process.moduleLoadList);
await import(process.env.FLEETLINE_PROBED_BUNDLE);
await new Promise((resolve) => { flushed = resolve; port1.postMessage('flush'); });
port1.close();
const builtins = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ')).map((m) => m.slice(13));
console.log(JSON.stringify({ modules, builtins }));`;

/** What importing a bundled handler loads (its cold start), in a fresh Node process. */
export async function probeInit(bundle: string): Promise<InitLoad> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', '--input-type=module', '-e', PROBE], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...FUNCTION_ENV, FLEETLINE_PROBED_BUNDLE: bundle },
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as InitLoad;
}
