import { parseArgs } from 'node:util';
import { channelUrlProblem } from '../lib/domain/channel-url.js';
import { DEFAULT_LIMITS } from './extract/limits.js';

export interface AgentOptions {
  api: string;
  instanceId?: string | undefined;
  tags: { key: string; value: string }[];
  stateDir: string;
  /** Install destinations under this folder instead of / (the local fleet). */
  root?: string | undefined;
  /** Local mode: sign requests with this principal header instead of SigV4. */
  principal?: string | undefined;
  region?: string | undefined;
  /** Check in at least this often while a hook runs and the channel is down; by default as often as the server asks (heartbeatSeconds). */
  heartbeatMs?: number | undefined;
  maxBundleBytes: number;
  /** How far a bundle may expand: absolute bytes, and times its compressed size. */
  maxExpandedBytes: number;
  maxExpansionRatio: number;
  /** The control channel's WebSocket URL: pushes replace the idle poll. Without it, the one the server names. */
  channel?: string | undefined;
  /** While the channel is up, the idle agent still polls this often (0: never, pushes only). */
  safetyPollSeconds: number;
  once: boolean;
  /** `--check`: check the installation (URL, route, clock, credentials, a signed poll) and exit. */
  check: boolean;
}

/**
 * While the control channel is up, the idle agent still polls this often: only
 * for a socket that looks open but is not (the reconciler pushes work that was
 * not picked up again, so a lost push alone costs a minute or two). Hourly:
 * polling every half hour made an idle agent cost more than $0.02 a month
 * (`npm run bench -- idle-cost`).
 */
export const DEFAULT_SAFETY_POLL_SECONDS = 3600;

export const USAGE = `Usage: fleetline-agent run --api URL [--instance-id ID] [--tags k=v,...] [--state-dir DIR]
                           [--root DIR] [--principal ARN] [--region REGION] [--heartbeat-ms N]
                           [--max-bundle-bytes N] [--max-expanded-bytes N] [--max-expansion-ratio N]
                           [--channel WSS_URL] [--safety-poll-seconds N]
       fleetline-agent --check --api URL [--instance-id ID] [--principal ARN] [--region REGION]

  --check        check the installation and exit: one line per check passed, or the problem found (exit 1):
                 a wrong API URL, no route to it, clock skew, no credentials, credentials refused
  --api          Fleetline's API base URL
  --instance-id  this machine's name (on EC2 it is read from the instance metadata)
  --tags         register this machine with these tags (on-premises instances)
  --state-dir    where the agent keeps bundles, logs and state (default /var/lib/fleetline-agent)
  --root         install appspec destinations under this folder (local fleets)
  --principal    local mode only: the principal ARN to send instead of signing with SigV4
  --region       the API's region for SigV4 (default: AWS_REGION or the instance's region)
  --heartbeat-ms check in at least this often while a hook runs and the channel is down (default: as often as the server asks)
  --max-bundle-bytes     largest bundle download accepted (default 2147483648, 2 GiB)
  --max-expanded-bytes   largest size a bundle may expand to on disk (default 2147483648, 2 GiB)
  --max-expansion-ratio  largest expanded/compressed ratio of a bundle (default 200)
  --channel      the control channel's WebSocket URL (wss://…; default: the one the API names in its answers):
                 work is pushed, polling becomes a safety net
  --safety-poll-seconds  how often to poll anyway while the channel is up (default ${DEFAULT_SAFETY_POLL_SECONDS}; 0 = never)
  --help         show this help`;

/** `fleetline-agent --help`, `-h` or `help` prints the usage and exits 0. */
export const wantsHelp = (argv: string[]) => argv.some((a) => a === '--help' || a === '-h') || argv[0] === 'help';

/** Parses `fleetline-agent run …`; throws with a message naming the bad option. */
export function parseAgentArgs(argv: string[]): AgentOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      api: { type: 'string' },
      'instance-id': { type: 'string' },
      tags: { type: 'string' },
      'state-dir': { type: 'string' },
      root: { type: 'string' },
      principal: { type: 'string' },
      region: { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      'max-bundle-bytes': { type: 'string' },
      'max-expanded-bytes': { type: 'string' },
      'max-expansion-ratio': { type: 'string' },
      once: { type: 'boolean' },
      check: { type: 'boolean' },
      channel: { type: 'string' },
      'safety-poll-seconds': { type: 'string' },
    },
  });
  const check = values.check ?? false;
  if (positionals[0] !== 'run' && !(check && positionals.length === 0)) throw new Error(`unknown command ${positionals[0] ?? '(none)'}\n${USAGE}`);
  if (check && !values.api) throw new Error(`--api is required\n${USAGE}`);
  // --check names a wrong URL as one of its problems.
  if (!check && (!values.api || !/^https?:\/\//.test(values.api))) throw new Error(`--api must be an http(s) URL\n${USAGE}`);
  const channelProblem = values.channel === undefined ? undefined : channelUrlProblem(values.channel);
  if (channelProblem) throw new Error(`--channel: ${channelProblem}\n${USAGE}`);
  const tags = (values.tags ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const [key, ...rest] = pair.split('=');
      if (!key) throw new Error(`--tags: "${pair}" is not key=value`);
      return { key, value: rest.join('=') };
    });
  const number = (name: string, raw: string | undefined, fallback: number) => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`);
    return n;
  };
  return {
    api: values.api ?? '',
    instanceId: values['instance-id'],
    tags,
    stateDir: values['state-dir'] ?? '/var/lib/fleetline-agent',
    root: values.root,
    principal: values.principal,
    region: values.region ?? process.env.AWS_REGION,
    heartbeatMs: values['heartbeat-ms'] === undefined ? undefined : number('heartbeat-ms', values['heartbeat-ms'], 0),
    maxBundleBytes: number('max-bundle-bytes', values['max-bundle-bytes'], 2 * 1024 ** 3),
    maxExpandedBytes: number('max-expanded-bytes', values['max-expanded-bytes'], DEFAULT_LIMITS.maxBytes),
    maxExpansionRatio: number('max-expansion-ratio', values['max-expansion-ratio'], DEFAULT_LIMITS.maxRatio),
    once: values.once ?? false,
    check,
    channel: values.channel,
    safetyPollSeconds: values['safety-poll-seconds'] === '0' ? 0 : number('safety-poll-seconds', values['safety-poll-seconds'], DEFAULT_SAFETY_POLL_SECONDS),
  };
}
