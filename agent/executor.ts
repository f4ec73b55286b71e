import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Appspec, AppspecError, type HookEvent, eventTimeoutSeconds, parseAppspec } from '../lib/domain/appspec.js';
import { type Assignment, WireContractError, heartbeatAnswerSchema, readAnswer, reportAnswerSchema } from '../lib/domain/agent-wire.js';
import type { ErrorCode } from '../lib/domain/lifecycle.js';
import type { ApiClient } from './api-client.js';
import { BundleIntegrityError, type ExtractLimits, extractBundle } from './archive.js';
import { bundleRootOf } from './bundle-root.js';
import { downloadBundle } from './download.js';
import { type HookOptions, runScripts } from './hooks.js';
import { type DestinationMap, InstallError, applyPermissions, copyFiles, removePrevious } from './install.js';
import { OutputLog } from './output-buffer.js';
import { type AcceptedEffect, type Outbox, reportOutbox } from './outbox.js';
import { RunningHook } from './running-hook.js';
import type { AgentState } from './state.js';

/** The assignment exactly as the wire contract reads it (lib/domain/agent-wire.ts). */
export type { Assignment };

export interface ExecutorContext {
  api: ApiClient;
  instanceId: string;
  state: AgentState;
  map: DestinationMap;
  /** How often the agent checks in while a hook runs (stop requests arrive this way): at least as often as the server asks. */
  heartbeatMs: number;
  maxBundleBytes: number;
  /** Every report goes through it (durable, retried); by default the one in the state folder. */
  outbox?: Outbox;
  /** The record of the hook in flight; by default the one in the state folder. */
  runningHook?: RunningHook;
  /** The host's region, handed to hooks as AWS_REGION and AWS_DEFAULT_REGION. */
  region?: string | undefined;
  /** The agent is stopping: undelivered reports stay in the outbox. */
  shutdown?: AbortSignal;
  /** Expansion limits for bundles (default: DEFAULT_LIMITS). */
  limits?: ExtractLimits;
  log?: (line: string) => void;
  /** Stops pushed over the control channel: the running hook is killed without waiting for a heartbeat. */
  stops?: { onStop(deploymentId: string, onStop: () => void): () => void } | undefined;
}

interface Outcome {
  status: 'Succeeded' | 'Failed' | 'Skipped';
  errorCode?: ErrorCode;
  exitCode?: number | null;
  message?: string;
}

const DEFAULT_STEP_TIMEOUT_SECONDS = 3600;

/**
 * Runs one assignment: every pending lifecycle event in order, each reported
 * started and finished. A stop (from a heartbeat or a report answer) kills the
 * running hook's process group. An event the server shows as already running
 * was interrupted by this agent's own restart: it is reported Failed.
 */
export async function runAssignment(assignment: Assignment, ctx: ExecutorContext): Promise<boolean> {
  const dir = ctx.state.deploymentDir(assignment.deploymentId);
  await rm(join(dir, 'bundle'), { recursive: true, force: true }).catch(() => undefined);
  await mkdir(dir, { recursive: true });
  const log = new OutputLog(join(dir, 'log.txt'));
  const abort = new AbortController();
  /** Sends a report through the outbox: it is retried until the server accepts it or refuses it for good. */
  const report = async (event: string, status: string, extra: Record<string, unknown> = {}, then?: AcceptedEffect) => {
    const sent = { instanceId: ctx.instanceId, deploymentId: assignment.deploymentId, event, status, ...extra };
    const delivery = await outbox.send(sent, ctx.shutdown ?? new AbortController().signal, then);
    if (delivery.kind === 'kept') throw new Error(`the agent is stopping; the ${event} ${status} report stays queued for its next start`);
    const answer = delivery.answer;
    if (delivery.kind === 'refused' && answer.status !== 409) throw new Error(`report ${event} ${status}: HTTP ${answer.status}`);
    const body = answer.status === 409 ? undefined : readAnswer(reportAnswerSchema, answer.body, 'report answer');
    if (answer.status === 409 || body?.action === 'stop') abort.abort();
    if (then && delivery.kind === 'accepted') succeeded = true;
    return { status: answer.status, body };
  };
  let succeeded = false;
  /** The last event to run: its report, once accepted, makes this revision the group's last success on this host. */
  const isLast = (event: Assignment['events'][number]) =>
    !assignment.events.slice(assignment.events.indexOf(event) + 1).some((e) => e.status === 'Pending');
  const success = (event: Assignment['events'][number]): AcceptedEffect | undefined =>
    allSucceeded && isLast(event)
      ? { recordSuccess: { groupId: assignment.deploymentGroupId, deploymentId: assignment.deploymentId, bundleRoot } }
      : undefined;

  /** A stop (or a refusal) ends the assignment unless the event just reported was the last one to run. */
  const stopsBefore = (answer: { status: number; body?: { action?: string } }, event: Assignment['events'][number]) =>
    (answer.status === 409 || answer.body?.action === 'stop') &&
    assignment.events.slice(assignment.events.indexOf(event) + 1).some((e) => e.status === 'Pending');

  const track = ctx.runningHook ?? new RunningHook(ctx.state);
  const outbox = ctx.outbox ?? reportOutbox(ctx.api, ctx.state, ctx.log);
  const heartbeat = setInterval(() => {
    ctx.api
      .post('/agent/v1/poll', { instanceId: ctx.instanceId, heartbeat: true })
      .then((answer) => {
        if (answer.status !== 200) return;
        const body = readAnswer(heartbeatAnswerSchema, answer.body, 'heartbeat answer');
        if (body.assignment === null || body.assignment.deploymentId !== assignment.deploymentId || body.action === 'stop') abort.abort();
      })
      .catch((error) => {
        if (error instanceof WireContractError) ctx.log?.(`error: ${error.message}`);
      });
  }, ctx.heartbeatMs);

  const unsubscribeStop = ctx.stops?.onStop(assignment.deploymentId, () => abort.abort());

  let appspec: Appspec | undefined;
  let bundleRoot = join(dir, 'bundle');
  let allSucceeded = true;
  try {
    const previous = await previousRevision(assignment, ctx);
    const interrupted = assignment.events.find((e) => e.status === 'InProgress');
    if (interrupted) {
      await report(interrupted.name, 'Failed', {
        errorCode: 'UnknownError',
        message: 'The agent restarted while this event was running',
      });
      allSucceeded = false;
      return false;
    }
    for (const event of assignment.events) {
      if (event.status !== 'Pending') continue;
      if (abort.signal.aborted) {
        allSucceeded = false;
        break;
      }
      log.resetTail();
      if (!hasWork(event.name, appspec, previous)) {
        // Nothing to run: one report instead of two.
        const answer = await report(event.name, 'Skipped', { message: 'no scripts for this event' }, success(event));
        if (stopsBefore(answer, event)) {
          allSucceeded = false;
          break;
        }
        continue;
      }
      log.line(`${event.name} started`);
      const timeout = appspec && event.name in appspec.hooks ? eventTimeoutSeconds(appspec, event.name) : DEFAULT_STEP_TIMEOUT_SECONDS;
      await report(event.name, 'InProgress', { startedAt: new Date().toISOString(), timeoutSeconds: Math.max(1, timeout) });
      if (abort.signal.aborted) {
        // Stopped meanwhile, or the server already ended this instance (409): run nothing more.
        allSucceeded = false;
        break;
      }
      const started = new Date().toISOString();
      const env = { ...assignment.environment, ...regionEnv(ctx.region), ...hookCredentialEnv(assignment), LIFECYCLE_EVENT: event.name };
      let outcome: Outcome;
      try {
        switch (event.name) {
          case 'ApplicationStop': {
            // hasWork let us here, so there is an earlier revision on this host.
            const { root, appspec: earlier, error } = previous as PreviousRevision;
            if (error) throw error;
            outcome = await hooks('ApplicationStop', earlier as Appspec, root, env, log, abort.signal, track);
            break;
          }
          case 'DownloadBundle': {
            const fetched = await fetchBundle(assignment, dir, ctx, log);
            appspec = fetched.appspec;
            bundleRoot = fetched.root;
            outcome = { status: 'Succeeded' };
            break;
          }
          case 'Install':
            outcome = await install(assignment, appspec as Appspec, bundleRoot, ctx, log);
            break;
          default:
            outcome = await hooks(event.name, appspec as Appspec, bundleRoot, env, log, abort.signal, track);
        }
      } catch (error) {
        outcome = failure(error);
      }
      log.line(`${event.name} ${outcome.status}${outcome.message ? `: ${outcome.message}` : ''}`);
      ctx.log?.(`deployment ${assignment.deploymentId}: ${event.name} ${outcome.status}${outcome.exitCode !== undefined ? ` (exit ${outcome.exitCode})` : ''}`);
      const ignored = event.name === 'ApplicationStop' && assignment.ignoreApplicationStopFailures;
      if (outcome.status === 'Failed' && !ignored) allSucceeded = false;
      const answer = await report(
        event.name,
        outcome.status,
        {
          startedAt: started,
          endedAt: new Date().toISOString(),
          ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
          ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}),
          ...(outcome.message ? { message: outcome.message.slice(0, 2000) } : {}),
          outputTail: log.lastBytes(),
        },
        success(event),
      );
      if (outcome.status === 'Failed' && !ignored) {
        allSucceeded = false;
        break;
      }
      if (stopsBefore(answer, event)) {
        allSucceeded = false;
        break;
      }
    }
  } finally {
    unsubscribeStop?.();
    clearInterval(heartbeat);
    await log.close();
    await uploadLog(assignment.logUpload.url, join(dir, 'log.txt')).catch((e) => ctx.log?.(`log upload failed: ${String(e)}`));
    await ctx.state.pruneFailed(assignment.deploymentId);
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
    return { root: last.bundleRoot, appspec: parseAppspec(await readFile(join(last.bundleRoot, 'appspec.yml'), 'utf8')) };
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
): Promise<Outcome> {
  const scripts = appspec.hooks[event as HookEvent] ?? [];
  if (scripts.length === 0) return { status: 'Skipped' };
  const result = await runScripts(scripts, { bundleDir: bundleRoot, env, log, signal, track });
  if (result.ok) return { status: 'Succeeded', exitCode: 0 };
  return { status: 'Failed', errorCode: result.errorCode, exitCode: result.exitCode, message: result.message };
}

async function fetchBundle(assignment: Assignment, dir: string, ctx: ExecutorContext, log: OutputLog) {
  const type = assignment.bundle.bundleType;
  const file = join(dir, `bundle.${type}`);
  await downloadBundle(assignment.bundle.url, file, assignment.bundle, ctx.maxBundleBytes);
  log.line(`downloaded and verified ${assignment.revision.key}`);
  await rm(join(dir, 'bundle'), { recursive: true, force: true });
  const expanded = await extractBundle(file, type, join(dir, 'bundle'), ctx.limits);
  log.line(`extracted ${expanded} bytes`);
  await rm(file, { force: true });
  const root = await bundleRootOf(join(dir, 'bundle'), (line) => log.line(line));
  const appspec = parseAppspec(await readFile(join(root, 'appspec.yml'), 'utf8'));
  return { root, appspec };
}

async function install(assignment: Assignment, appspec: Appspec, bundleRoot: string, ctx: ExecutorContext, log: OutputLog): Promise<Outcome> {
  const group = assignment.deploymentGroupId;
  await removePrevious(await ctx.state.installedFiles(group), log);
  await ctx.state.saveInstalledFiles(group, []);
  const behavior = appspec.fileExistsBehavior ?? assignment.fileExistsBehavior;
  const others = await ctx.state.filesOfOtherGroups(group);
  const installed = await copyFiles(appspec, bundleRoot, behavior, ctx.map, log, (path) => others.get(path));
  await ctx.state.saveInstalledFiles(group, installed, assignment.environment.DEPLOYMENT_GROUP_NAME);
  await applyPermissions(appspec.permissions, ctx.map, log);
  return { status: 'Succeeded' };
}

async function uploadLog(url: string, file: string): Promise<void> {
  const body = await readFile(file);
  const res = await fetch(url, { method: 'PUT', body, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}
