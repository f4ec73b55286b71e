import { AGENT_VERSION } from '../lib/domain/agent-presence.js';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Appspec, AppspecError, type HookEvent, eventTimeoutSeconds, parseAppspec } from '../lib/domain/appspec.js';
import { type AgentAction, type Assignment, heartbeatAnswerSchema, readAnswer } from '../lib/domain/agent-wire.js';
import type { ErrorCode, LifecycleEvent } from '../lib/domain/lifecycle.js';
import type { ApiClient } from './api-client.js';
import { BundleIntegrityError, type ExtractLimits, extractBundle } from './archive.js';
import { bundleRootOf, readBundleAppspec } from './bundle-root.js';
import { downloadBundle } from './download.js';
import { type HookOptions, runScripts } from './hooks.js';
import { HOST_ROOT_VARIABLE, type HostView } from './host-view.js';
import { type DestinationMap, InstallError, NOTHING_INSTALLED, applyPermissions, copyFiles, removePrevious } from './install.js';
import { LiveStream } from './live-stream.js';
import { OutputLog } from './output-buffer.js';
import { type AcceptedEffect, type Outbox, reportOutbox } from './outbox.js';
import { EventReporter, type FinishedEvent } from './reporter.js';
import { RunningHook } from './running-hook.js';
import { type AgentState, hookLogFile } from './state.js';

/** The assignment exactly as the wire contract reads it (lib/domain/agent-wire.ts). */
export type { Assignment };

export interface ExecutorContext {
  api: ApiClient;
  instanceId: string;
  state: AgentState;
  map: DestinationMap;
  /**
   * How long the agent may go without contacting the server while it works (a
   * check-in renews the lease and carries stop requests): at least as often as
   * the server asks; read before each wait, so it may follow the channel's state.
   */
  heartbeatMs: number | (() => number);
  maxBundleBytes: number;
  /** Every report goes through it (durable, retried); by default the one in the state folder. */
  outbox?: Outbox;
  /** The record of the hook in flight; by default the one in the state folder. */
  runningHook?: RunningHook;
  /** The host's region, handed to hooks as AWS_REGION and AWS_DEFAULT_REGION. */
  region?: string | undefined;
  /**
   * Local mode: the host's folder (hooks get it as FLEETLINE_HOST_ROOT) and,
   * where the kernel allows it, the private mount namespace that shows it at the
   * appspec's destinations.
   */
  host?: { root: string; view?: HostView | undefined } | undefined;
  /** The agent is stopping: undelivered reports stay in the outbox. */
  shutdown?: AbortSignal;
  /** Expansion limits for bundles (default: DEFAULT_LIMITS). */
  limits?: ExtractLimits;
  log?: (line: string) => void;
  /**
   * The control channel: stops pushed over it kill the running hook without waiting for a heartbeat;
   * follows pushed over it start the live log (docs/live-logs.md).
   */
  stops?: { onStop(deploymentId: string, onStop: () => void): () => void; onFollow?(deploymentId: string, onFollow: (seconds: number) => void): () => void } | undefined;
  /** How long a hook's start report waits for the report that ends the hook (default START_REPORT_DELAY_MS). */
  startReportDelayMs?: number;
}

/**
 * A hook that ends within this long costs no request of its own: its start
 * goes with the report that ends it. The server hears of a longer hook's start
 * this long after it began (the report is on disk from the start, so a crash
 * loses nothing); a stop is pushed, or answered to that report.
 */
export const START_REPORT_DELAY_MS = 1000;

interface Outcome {
  status: 'Succeeded' | 'Failed' | 'Skipped';
  errorCode?: ErrorCode;
  exitCode?: number | null;
  message?: string;
}

const DEFAULT_STEP_TIMEOUT_SECONDS = 3600;

/**
 * Runs one assignment: every pending lifecycle event in order. The server hears
 * at most once per scripted event (the report that starts it also carries every
 * event that finished since: the previous one and those without scripts; a hook
 * shorter than START_REPORT_DELAY_MS is told with the report after it) and once
 * at the end; while something runs longer than the check-in interval, a check-in
 * (heartbeat) renews the lease. A stop (pushed, or in an answer) kills the
 * running hook's process group. An event the server shows as already running
 * was interrupted by this agent's own restart: it is reported Failed. An
 * assignment handed out with `action: stop` is never downloaded, installed or
 * run: when nothing of it has run yet, every event is reported Skipped (the
 * instance ends Skipped), else nothing more is reported (as after a stop mid-run).
 */
export async function runAssignment(assignment: Assignment, ctx: ExecutorContext, action: AgentAction = 'continue'): Promise<boolean> {
  const dir = ctx.state.deploymentDir(assignment.deploymentId);
  await rm(join(dir, 'bundle'), { recursive: true, force: true }).catch(() => undefined);
  await mkdir(dir, { recursive: true });
  const logFile = await hookLogFile(ctx.state, assignment.deploymentId);
  // Streamed only while someone follows; otherwise it holds the last few KB and sends nothing.
  const live = new LiveStream({
    instanceId: ctx.instanceId,
    deploymentId: assignment.deploymentId,
    post: (body) => ctx.api.post('/agent/v1/log', body),
    log: ctx.log,
  });
  const log = new OutputLog(logFile, (line) => live.add(line));
  const abort = new AbortController();
  const track = ctx.runningHook ?? new RunningHook(ctx.state);
  const outbox = ctx.outbox ?? reportOutbox(ctx.api, ctx.state, ctx.log);
  const checkInMs = ctx.heartbeatMs;
  const reporter = new EventReporter({
    instanceId: ctx.instanceId,
    deploymentId: assignment.deploymentId,
    outbox,
    shutdown: ctx.shutdown ?? new AbortController().signal,
    checkInMs: typeof checkInMs === 'function' ? checkInMs : () => checkInMs,
    onStop: () => abort.abort(),
    startReportDelayMs: ctx.startReportDelayMs ?? START_REPORT_DELAY_MS,
    log: ctx.log,
    heartbeat: async () => {
      const answer = await ctx.api.post('/agent/v1/poll', { instanceId: ctx.instanceId, heartbeat: true, deploymentId: assignment.deploymentId, agentVersion: AGENT_VERSION }).catch(() => undefined);
      if (answer?.status !== 200) return false;
      const body = readAnswer(heartbeatAnswerSchema, answer.body, 'heartbeat answer');
      const mine = body.assignment !== null && body.assignment.deploymentId === assignment.deploymentId;
      if (!mine || body.action === 'stop') abort.abort();
      if (mine && 'followSeconds' in body && body.followSeconds) live.follow(body.followSeconds);
      return mine;
    },
  });
  const unsubscribeStop = ctx.stops?.onStop(assignment.deploymentId, () => abort.abort());
  const unsubscribeFollow = ctx.stops?.onFollow?.(assignment.deploymentId, (seconds) => live.follow(seconds));

  let appspec: Appspec | undefined;
  let bundleRoot = join(dir, 'bundle');
  let allSucceeded = true;
  /**
   * The last event that ran and the events without work after it: they go with
   * the final report, the first of them with its output tail.
   */
  let held: FinishedEvent[] = [];
  let succeeded: boolean;
  let early: Prefetch | undefined;
  const release = () => {
    for (const event of held.splice(0)) reporter.note(event);
  };
  try {
    const previous = await previousRevision(assignment, ctx);
    const interrupted = assignment.events.find((e) => e.status === 'InProgress');
    if (interrupted) {
      allSucceeded = false;
      held = [{ event: interrupted.name as LifecycleEvent, status: 'Failed', errorCode: 'UnknownError', message: 'The agent restarted while this event was running' }];
      return false;
    }
    if (action === 'stop') {
      allSucceeded = false;
      log.line('the deployment was stopped before this host began it: nothing is downloaded, installed or run');
      ctx.log?.(`deployment ${assignment.deploymentId}: stopped before it began here; nothing run`);
      if (assignment.events.every((e) => e.status === 'Pending' || e.status === 'Skipped')) {
        held = assignment.events
          .filter((e) => e.status === 'Pending')
          .map((e) => ({ event: e.name as LifecycleEvent, status: 'Skipped' as const, message: 'the deployment was stopped before this host began it' }));
      }
      return false;
    }
    early = prefetch(assignment, previous, dir, ctx);
    for (const pending of assignment.events) {
      if (pending.status !== 'Pending') continue;
      const name = pending.name as LifecycleEvent;
      const work = hasWork(name, appspec, previous);
      if (!work) {
        // Nothing to run: no request of its own, it goes with the next report.
        const skipped: FinishedEvent = { event: name, status: 'Skipped', message: 'no scripts for this event' };
        if (held.length > 0) held.push(skipped);
        else reporter.note(skipped);
        continue;
      }
      if (abort.signal.aborted) {
        allSucceeded = false;
        break;
      }
      release();
      log.resetTail();
      log.line(`${name} started`);
      const started = name === 'DownloadBundle' && early ? early.startedAt : new Date().toISOString();
      if (name !== 'DownloadBundle' && name !== 'Install') {
        const timeout = appspec && name in appspec.hooks ? eventTimeoutSeconds(appspec, name as HookEvent) : DEFAULT_STEP_TIMEOUT_SECONDS;
        await reporter.sendAhead({ starting: { event: name, startedAt: started, timeoutSeconds: Math.max(1, timeout) } });
        if (reporter.refused) {
          // The server already ended this instance: run nothing more.
          allSucceeded = false;
          break;
        }
        // Stopped meanwhile: the hook below is ended at once and reported Failed.
      }
      const env = { ...assignment.environment, ...regionEnv(ctx.region), ...hookCredentialEnv(assignment), LIFECYCLE_EVENT: name };
      let outcome: Outcome;
      try {
        switch (name) {
          case 'ApplicationStop': {
            // hasWork let us here, so there is an earlier revision on this host.
            const { root, appspec: earlier, error } = previous as PreviousRevision;
            if (error) throw error;
            outcome = await hooks('ApplicationStop', earlier as Appspec, root, env, log, abort.signal, track, ctx.host);
            break;
          }
          case 'DownloadBundle': {
            const fetched = early ? await early.taken(log) : await fetchBundle(assignment, dir, ctx, (line) => log.line(line));
            appspec = fetched.appspec;
            bundleRoot = fetched.root;
            outcome = { status: 'Succeeded' };
            break;
          }
          case 'Install':
            outcome = await install(assignment, appspec as Appspec, bundleRoot, ctx, log);
            break;
          default:
            outcome = await hooks(name, appspec as Appspec, bundleRoot, env, log, abort.signal, track, ctx.host);
        }
      } catch (error) {
        outcome = failure(error);
      }
      log.line(`${name} ${outcome.status}${outcome.message ? `: ${outcome.message}` : ''}`);
      ctx.log?.(`deployment ${assignment.deploymentId}: ${name} ${outcome.status}${outcome.exitCode !== undefined ? ` (exit ${outcome.exitCode})` : ''}`);
      const failed = outcome.status === 'Failed';
      held = [
        {
          event: name,
          status: outcome.status,
          startedAt: started,
          endedAt: new Date().toISOString(),
          ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
          ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}),
          ...(outcome.message ? { message: outcome.message.slice(0, 2000) } : {}),
          // A failure's output is shown with it; a success's only for the last event (see the final report).
          ...(failed ? { outputTail: log.lastBytes() } : {}),
        },
      ];
      const ignored = name === 'ApplicationStop' && assignment.ignoreApplicationStopFailures;
      if (failed && !ignored) {
        allSucceeded = false;
        break;
      }
    }
  } finally {
    // Not needed after all (ApplicationStop failed, or a stop): nothing more is fetched or written.
    await early?.cancel();
    try {
      // The final report: what is left, the last event that ran with its output; once accepted, a success is this host's last one.
      const [lastRun, ...after] = held;
      const finished = lastRun ? [{ ...lastRun, outputTail: lastRun.outputTail ?? log.lastBytes() }, ...after] : [];
      const then: AcceptedEffect | undefined = allSucceeded
        ? { recordSuccess: { groupId: assignment.deploymentGroupId, deploymentId: assignment.deploymentId, bundleRoot } }
        : undefined;
      // A follower gets the last output before the report that ends the instance (after it, no chunk is taken).
      unsubscribeFollow?.();
      await live.finish();
      const answer = await reporter.send({ finished, ...(then ? { then } : {}) });
      succeeded = allSucceeded && answer !== undefined;
    } finally {
      reporter.close();
      unsubscribeStop?.();
      unsubscribeFollow?.();
      await log.close();
      await uploadLog(assignment.logUpload.url, logFile).catch((e) => ctx.log?.(`log upload failed: ${String(e)}`));
      await ctx.state.pruneFailed(assignment.deploymentId);
    }
  }
  return succeeded;
}

/** Hooks learn the host's region as the AWS SDKs and CLI read it. */
function regionEnv(region: string | undefined): Record<string, string> {
  return region ? { AWS_REGION: region, AWS_DEFAULT_REGION: region } : {};
}

function hookCredentialEnv(assignment: Assignment): Record<string, string> {
  const c = assignment.hookCredentials;
  return c ? { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_SESSION_TOKEN: c.sessionToken } : {};
}

/** The revision that last succeeded on this host for the group: its ApplicationStop scripts run first. */
interface PreviousRevision {
  root: string;
  appspec?: Appspec;
  /** Its appspec.yml could not be read: ApplicationStop fails with this. */
  error?: unknown;
}

async function previousRevision(assignment: Assignment, ctx: ExecutorContext): Promise<PreviousRevision | undefined> {
  const last = await ctx.state.lastSuccess(assignment.deploymentGroupId);
  if (!last) return undefined;
  try {
    return { root: last.bundleRoot, appspec: parseAppspec(await readBundleAppspec(last.bundleRoot)) };
  } catch (error) {
    return { root: last.bundleRoot, error };
  }
}

/** Whether an event has anything to do on this host (events without scripts are reported Skipped at once). */
function hasWork(event: string, appspec: Appspec | undefined, previous: PreviousRevision | undefined): boolean {
  if (event === 'DownloadBundle' || event === 'Install') return true;
  if (event === 'ApplicationStop') return previous !== undefined && (previous.error !== undefined || (previous.appspec?.hooks.ApplicationStop?.length ?? 0) > 0);
  return (appspec?.hooks[event as HookEvent]?.length ?? 0) > 0;
}

function failure(error: unknown): Outcome {
  const message = (error as Error).message ?? String(error);
  if (error instanceof BundleIntegrityError) return { status: 'Failed', errorCode: 'BundleIntegrity', message };
  if (error instanceof AppspecError) {
    const details = error.details.map((d) => `${d.path}: ${d.message}`).join('; ');
    return { status: 'Failed', errorCode: 'UnknownError', message: `${message}: ${details}` };
  }
  if (error instanceof InstallError) return { status: 'Failed', errorCode: error.errorCode, message };
  return { status: 'Failed', errorCode: 'UnknownError', message };
}

async function hooks(
  event: string,
  appspec: Appspec,
  bundleRoot: string,
  env: Record<string, string>,
  log: OutputLog,
  signal: AbortSignal,
  track?: HookOptions['track'],
  host?: ExecutorContext['host'],
): Promise<Outcome> {
  const scripts = appspec.hooks[event as HookEvent] ?? [];
  if (scripts.length === 0) return { status: 'Skipped' };
  // The destinations of the revision whose scripts these are (ApplicationStop's are the previous one's).
  const hostView = host?.view ? { view: host.view, destinations: appspec.files.map((f) => f.destination) } : undefined;
  const hostEnv = host ? { ...env, [HOST_ROOT_VARIABLE]: host.root } : env;
  // Scripts start from / as with CodeDeploy's agent; a local host's from its folder, which may not exist before its first Install.
  const workingDir = host?.root ?? '/';
  await mkdir(workingDir, { recursive: true });
  const result = await runScripts(scripts, { bundleDir: bundleRoot, workingDir, env: hostEnv, log, signal, track, hostView });
  if (result.ok) return { status: 'Succeeded', exitCode: 0 };
  return { status: 'Failed', errorCode: result.errorCode, exitCode: result.exitCode, message: result.message };
}

async function fetchBundle(assignment: Assignment, dir: string, ctx: ExecutorContext, line: (text: string) => void, signal?: AbortSignal) {
  const type = assignment.bundle.bundleType;
  const file = join(dir, `bundle.${type}`);
  await downloadBundle(assignment.bundle.url, file, assignment.bundle, ctx.maxBundleBytes, signal);
  line(`downloaded and verified ${assignment.revision.key}`);
  await rm(join(dir, 'bundle'), { recursive: true, force: true });
  const expanded = await extractBundle(file, type, join(dir, 'bundle'), ctx.limits);
  line(`extracted ${expanded} bytes`);
  await rm(file, { force: true });
  const root = await bundleRootOf(join(dir, 'bundle'), line);
  const appspec = parseAppspec(await readBundleAppspec(root));
  return { root, appspec };
}

/** DownloadBundle's work, begun while ApplicationStop runs. */
interface Prefetch {
  startedAt: string;
  /** Waits for the bundle; what it logged meanwhile goes into the log now, in DownloadBundle's place. */
  taken(log: OutputLog): Promise<Awaited<ReturnType<typeof fetchBundle>>>;
  /** Stops it if it is still going, and waits until it touches nothing more. */
  cancel(): Promise<void>;
}

/**
 * The new bundle is downloaded, verified and extracted into this deployment's
 * own folder while the previous revision's ApplicationStop scripts run from
 * theirs: DownloadBundle then waits only for what is left of it (it is still
 * reported after ApplicationStop, with the time it really began). Only when
 * both are to run and ApplicationStop has scripts.
 */
function prefetch(assignment: Assignment, previous: PreviousRevision | undefined, dir: string, ctx: ExecutorContext): Prefetch | undefined {
  const pending = (name: string) => assignment.events.some((e) => e.name === name && e.status === 'Pending');
  if (!pending('ApplicationStop') || !pending('DownloadBundle') || !hasWork('ApplicationStop', undefined, previous)) return undefined;
  const stop = new AbortController();
  const lines: string[] = [];
  const startedAt = new Date().toISOString();
  const result = fetchBundle(assignment, dir, ctx, (line) => lines.push(line), stop.signal);
  result.catch(() => undefined); // taken (and reported) by DownloadBundle, or cancelled
  return {
    startedAt,
    async taken(log) {
      try {
        return await result;
      } finally {
        for (const line of lines.splice(0)) log.line(line);
      }
    },
    async cancel() {
      stop.abort();
      await result.catch(() => undefined);
    },
  };
}

async function install(assignment: Assignment, appspec: Appspec, bundleRoot: string, ctx: ExecutorContext, log: OutputLog): Promise<Outcome> {
  const group = assignment.deploymentGroupId;
  await removePrevious(await ctx.state.installedFiles(group), log);
  await ctx.state.saveInstalledFiles(group, NOTHING_INSTALLED);
  const behavior = appspec.fileExistsBehavior ?? assignment.fileExistsBehavior;
  const others = await ctx.state.filesOfOtherGroups(group);
  const installed = await copyFiles(appspec, bundleRoot, behavior, ctx.map, log, (path) => others.get(path));
  await ctx.state.saveInstalledFiles(group, installed, assignment.environment.DEPLOYMENT_GROUP_NAME);
  await applyPermissions(appspec.permissions, installed, ctx.map, log, (contexts) => ctx.state.saveInstalledFiles(group, { ...installed, contexts }));
  return { status: 'Succeeded' };
}

async function uploadLog(url: string, file: string): Promise<void> {
  const body = await readFile(file);
  const res = await fetch(url, { method: 'PUT', body, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}
