import { resolve } from 'node:path';
import { ApiClient, type Identity, ec2Identity } from './api-client.js';
import { type AgentOptions, USAGE, parseAgentArgs, wantsHelp } from './cli-options.js';
import { pollAnswerSchema, readAnswer } from '../lib/domain/agent-wire.js';
import { AGENT_VERSION, olderThan } from '../lib/domain/agent-presence.js';
import { channelUrlProblem, shownChannelUrl } from '../lib/domain/channel-url.js';
import { type ExecutorContext, runAssignment } from './executor.js';
import { HOST_ROOT_VARIABLE, probeHostView } from './host-view.js';
import { DEFAULT_LIMITS } from './extract/limits.js';
import { identityMap, rootedMap } from './install.js';
import { reportOutbox } from './outbox.js';
import { RunningHook } from './running-hook.js';
import { checkInstallation } from './check.js';
import { refusalCause, requestFailureCause } from './failure-cause.js';
import { PushChannel } from './push-channel.js';
import { AgentState, traversableFolder } from './state.js';

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
/** Sleeps until `ms` pass or `signal` aborts; removes its listener either way (one per poll would pile up). */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((r) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      r();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * The wait between idle polls. With the control channel up, a push ends it and
 * the poll is only a slow safety net; with the channel down (or none), the
 * agent polls at the server's interval. Jitter: a fleet must not poll in lockstep.
 */
async function idle(pollMs: number, channel: PushChannel | undefined, safetyPollSeconds: number, shutdown: AbortSignal): Promise<void> {
  if (!channel) return sleep(pollMs * (0.8 + Math.random() * 0.4), shutdown);
  const safetyMs = safetyPollSeconds === 0 ? Number.POSITIVE_INFINITY : safetyPollSeconds * 1000 * (0.8 + Math.random() * 0.4);
  return channel.waitForWake(channel.connected ? safetyMs : pollMs * (0.8 + Math.random() * 0.4), shutdown);
}

/** Local mode's host folder, and whether hooks can see it at the appspec destinations (host-view.ts). */
async function hostFolder(root: string): Promise<ExecutorContext['host']> {
  const mode = await probeHostView();
  if (typeof mode === 'string') return { root, view: { root, mode } };
  log(`warning: hooks cannot run in a private mount namespace here (unshare: ${mode.problem}): they find the installed files under $${HOST_ROOT_VARIABLE} (${root}), not at the appspec destinations`);
  return { root };
}

/** Poll, run, report, forever: the agent's whole life. */
export async function runAgent(options: AgentOptions, shutdown: AbortSignal): Promise<void> {
  let instanceId = options.instanceId;
  let region = options.region;
  /** The region hooks run in: the instance's own on EC2, else the configured one (--region, AWS_REGION). */
  let hostRegion = options.region;
  if (!instanceId) {
    const ec2 = await ec2Identity();
    instanceId = ec2.instanceId;
    region ??= ec2.region;
    hostRegion = ec2.region;
  }
  const identity: Identity = options.principal ? { kind: 'local', principal: options.principal } : { kind: 'sigv4', region: region ?? 'us-east-1' };
  const api = new ApiClient(options.api, identity);
  const state = new AgentState(resolve(options.stateDir));
  // Traversable only: hooks run as other users reach their bundles, nobody lists what is here
  // (also reopens a state folder an earlier agent closed to 0700).
  await traversableFolder(state.dir);
  const leftover = await RunningHook.endLeftover(state);
  if (leftover === 'killed') log('ended the hook process group an earlier run of the agent left running');
  if (leftover === 'not ours') log('the running-hook record names a process group that is not one this agent started: left it alone');
  const outbox = reportOutbox(api, state, log);

  if (options.tags.length > 0) {
    const registered = await api.post('/agent/v1/register', { instanceId, tags: options.tags });
    if (registered.status >= 300) throw new Error(`registration refused: ${refusalCause(registered.status, registered.body, options.api)}`);
    log(`registered ${instanceId}`);
  }
  const open = (url: string) => new PushChannel({ url, instanceId, authHeaders: (signed) => api.authHeaders('GET', signed), log }).start();
  let channel = options.channel ? open(options.channel) : undefined;
  shutdown.addEventListener('abort', () => channel?.close(), { once: true });
  let refused: string | undefined;
  /** The server names its control channel in every poll answer: opened the first time, followed when it moves; --channel wins. */
  const learnChannel = (url: string | undefined) => {
    if (url === undefined || options.channel !== undefined || url === channel?.url || shutdown.aborted) return;
    const problem = channelUrlProblem(url);
    if (problem) {
      if (url !== refused) log(`refused the control channel URL the server named (${problem}): ${shownChannelUrl(url)}; polling instead`);
      refused = url;
      return;
    }
    if (channel) {
      log(`the server moved the control channel to ${shownChannelUrl(url)}`);
      channel.retarget(url);
      return;
    }
    log(`control channel ${shownChannelUrl(url)} (named by the server)`);
    channel = open(url);
    context.stops = channel;
  };
  const context = {
    api,
    stops: channel,
    instanceId,
    state,
    map: options.root ? rootedMap(resolve(options.root)) : identityMap,
    heartbeatMs: options.heartbeatMs ?? 5000, // replaced by the server's heartbeatSeconds for each assignment
    maxBundleBytes: options.maxBundleBytes,
    limits: { ...DEFAULT_LIMITS, maxBytes: options.maxExpandedBytes, maxRatio: options.maxExpansionRatio },
    outbox,
    runningHook: new RunningHook(state),
    region: hostRegion,
    host: undefined as ExecutorContext['host'],
    shutdown,
    log,
  };
  if (options.root) context.host = await hostFolder(resolve(options.root));
  if (!hostRegion) log('no region configured (--region or AWS_REGION): hooks get no AWS_REGION');
  let failures = 0;
  let warnedMinimum: string | undefined;
  while (!shutdown.aborted) {
    try {
      // Reports an earlier run (or a failed server) left undelivered go first, in order.
      await outbox.flush(shutdown);
      if (shutdown.aborted) break;
      const wakesBefore = channel?.wakes;
      const answer = await api.post('/agent/v1/poll', { instanceId, agentVersion: AGENT_VERSION });
      if (answer.status !== 200) throw new Error(`poll: ${refusalCause(answer.status, answer.body, options.api)}`);
      failures = 0;
      const polled = readAnswer(pollAnswerSchema, answer.body, 'poll answer');
      learnChannel(polled.channelUrl);
      const minimum = polled.minimumAgentVersion;
      if (minimum && minimum !== warnedMinimum && olderThan(AGENT_VERSION, minimum)) {
        log(`this agent (${AGENT_VERSION}) is older than the server's minimum agent version ${minimum}: update it`);
        warnedMinimum = minimum;
      }
      if (polled.assignment) {
        const { assignment } = polled;
        log(`deployment ${assignment.deploymentId}: starting`);
        // Check in at least as often as the server asks (its lease depends on it). --heartbeat-ms asks for more
        // only while the channel is down: with it up, a stop is pushed and needs no check-in to arrive.
        const leaseMs = polled.heartbeatSeconds * 1000;
        const heartbeatMs = () => (channel?.connected ? leaseMs : Math.min(leaseMs, options.heartbeatMs ?? Number.POSITIVE_INFINITY));
        const succeeded = await runAssignment(assignment, { ...context, heartbeatMs }, polled.action);
        log(`deployment ${assignment.deploymentId}: ${succeeded ? 'succeeded' : 'failed or stopped'} (hook output: ${state.deploymentDir(assignment.deploymentId)}/logs/log.txt)`);
        if (options.once) return;
        // Work dispatched meanwhile would have been pushed: with the channel up and no push since, there is nothing to poll for.
        if (channel?.connected && channel.wakes === wakesBefore) await idle(0, channel, options.safetyPollSeconds, shutdown);
        continue;
      }
      if (options.once) return;
      const base = polled.pollAfterSeconds * 1000;
      await idle(base, channel, options.safetyPollSeconds, shutdown);
    } catch (error) {
      if (options.once) throw error;
      failures++;
      const backoff = Math.min(60_000, 500 * 2 ** Math.min(failures, 7)) * (0.5 + Math.random() / 2);
      log(`error: ${requestFailureCause(error, options.api) ?? (error as Error).message}; retrying in ${Math.round(backoff)} ms`);
      await sleep(backoff, shutdown);
    }
  }
}

const isMain = process.argv[1] && /(agent\/main\.ts|fleetline-agent(\.mjs)?)$/.test(process.argv[1]);
if (isMain) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (wantsHelp(process.argv.slice(2))) {
    console.log(USAGE);
    process.exit(0);
  }
  let options: AgentOptions;
  try {
    options = parseAgentArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  if (options.check) {
    check(options).then((ok) => process.exit(ok ? 0 : 1));
  } else runMain(options);
}

/** `--check`: one line per check passed, then the problem found (exit 1) or none (exit 0). */
async function check(options: AgentOptions): Promise<boolean> {
  let instanceId = options.instanceId;
  let region = options.region;
  if (!instanceId) {
    try {
      const ec2 = await ec2Identity();
      instanceId = ec2.instanceId;
      region ??= ec2.region;
    } catch (error) {
      console.log(`problem: no --instance-id, and the EC2 instance metadata (IMDSv2) did not answer (${(error as Error).message}): not on EC2, or IMDS is turned off`);
      return false;
    }
  }
  const identity: Identity = options.principal ? { kind: 'local', principal: options.principal } : { kind: 'sigv4', region: region ?? 'us-east-1' };
  const { ok, lines } = await checkInstallation({ api: options.api, instanceId, identity });
  for (const line of lines) console.log(line);
  return ok;
}

function runMain(options: AgentOptions) {
  const shutdown = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => shutdown.abort());
  runAgent(options, shutdown.signal).then(
    () => process.exit(0),
    (error) => {
      console.error(`fleetline-agent: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
