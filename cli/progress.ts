import ora, { type Ora } from 'ora';
import type { AgentStatus } from '../lib/domain/agent-presence.js';
import { agentStateText } from './agent-status.js';
import type { FleetlineApi } from './api.js';

interface EventView {
  name: string;
  status: string;
  exitCode?: number | null;
  errorCode?: string;
  message?: string;
  outputTail?: string;
}
interface InstanceView {
  instanceId: string;
  status: string;
  /** The list answer's latest event that ran. */
  lastEvent?: string | null;
  events?: EventView[];
  /** For work still waiting on its agent. */
  agent?: AgentStatus;
}
export interface DeploymentView {
  deploymentId: string;
  status: string;
  application: string;
  group: string;
  counts?: Record<string, number>;
  error?: { code: string; message: string; cause?: { instanceId: string; event?: string } };
  endHandled?: boolean;
  rolledBackBy?: string;
  rollbackOf?: string;
}

/** Where a watch writes: progress to `progress`, the final frame (the result, in table format) to `result`. */
export interface WatchOutput {
  progress: NodeJS.WritableStream;
  result: NodeJS.WritableStream;
}

/**
 * Progress goes to stdout only when a person reads it there (a terminal, table
 * format); piped or with -o json it goes to stderr, so stdout is only the result.
 */
export function watchOutput(format: 'table' | 'json'): WatchOutput {
  const toStdout = format === 'table' && process.stdout.isTTY === true;
  return { progress: toStdout ? process.stdout : process.stderr, result: format === 'table' ? process.stdout : process.stderr };
}

const FINISHED = new Set(['Succeeded', 'Failed', 'Stopped']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "InProgress ValidateService" / "Succeeded" / "Failed at Install": an instance's state and its current lifecycle event. */
export function instanceLine(i: InstanceView): string {
  const at = !i.lastEvent || i.status === 'Succeeded' || i.status === 'Skipped' ? '' : i.status === 'InProgress' ? ` ${i.lastEvent}` : ` at ${i.lastEvent}`;
  const waiting = agentWaitText(i);
  return `${i.instanceId.padEnd(14)} ${i.status}${at}${waiting ? ` (${waiting})` : ''}`;
}

/** "agent offline since 12:04:10" for work whose agent is not there; nothing otherwise. */
export function agentWaitText(i: InstanceView): string {
  if (i.status !== 'InProgress' || !i.agent || i.agent.online) return '';
  return `agent ${agentStateText(i.agent)}`;
}

/**
 * Follows a deployment until it ends, showing each instance's state and
 * current lifecycle event: redrawn in place on a terminal, one plain line per
 * change when piped, and at the end the final state of every instance either
 * way. Ctrl-C leaves the deployment running and says how to stop it.
 */
export async function watchDeployment(api: FleetlineApi, deploymentId: string, label = '', output: WatchOutput = watchOutput('table')): Promise<DeploymentView> {
  const line = (stream: NodeJS.WritableStream, text: string) => stream.write(`${text}\n`);
  // Redrawn only where ora can animate (a TTY, not TERM=dumb, not CI); anywhere else, plain lines.
  // ora must leave stdin alone: in raw mode the terminal no longer turns Ctrl-C, Ctrl-Z or Ctrl-\ into signals.
  const candidate: Ora = ora({ stream: process.stderr, discardStdin: false });
  const spinner: Ora | undefined = candidate.isEnabled ? candidate.start(`${label}${deploymentId}: starting`) : undefined;
  const seen = new Map<string, string>();
  const onInterrupt = () => {
    spinner?.stop();
    console.error(`\nStopped watching; ${deploymentId} keeps running. Stop it with: fleetline deployments stop ${deploymentId}`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    let lastStatus = '';
    for (;;) {
      const deployment: DeploymentView = await api.call('getDeployment', { id: deploymentId });
      let instances: InstanceView[] = await api.all('listDeploymentInstances', { id: deploymentId });
      if (FINISHED.has(deployment.status)) instances = await settled(api, deploymentId, instances);
      const frame = [`${label}${deploymentId} ${deployment.status}`, ...instances.map((i) => `  ${instanceLine(i)}`)].join('\n');
      if (FINISHED.has(deployment.status)) {
        // The end is shown whole, TTY or not: the final state of every instance.
        if (spinner && output.result === process.stdout) {
          spinner.stop();
          line(output.result, frame);
        } else if (spinner && deployment.status === 'Succeeded') {
          spinner.succeed(frame);
        } else if (spinner) {
          spinner.fail(frame);
        } else {
          line(output.result, frame);
        }
        return deployment;
      }
      if (spinner) {
        spinner.text = frame;
      } else {
        if (deployment.status !== lastStatus) line(output.progress, `${label}${deploymentId} ${deployment.status}`);
        for (const i of instances) {
          const shown = instanceLine(i);
          if (seen.get(i.instanceId) !== shown) line(output.progress, `  ${shown}`);
          seen.set(i.instanceId, shown);
        }
      }
      lastStatus = deployment.status;
      await sleep(1000);
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    spinner?.stop();
  }
}

/**
 * A deployment of a group with automatic rollback is rolled back just after it
 * fails (or is stopped with a rollback): waits for the end to be handled, then,
 * when a rollback was created, says so and follows it to its end. Returns the
 * rollback's end, or undefined when there is none.
 */
export async function followRollback(api: FleetlineApi, ended: DeploymentView, output: WatchOutput): Promise<DeploymentView | undefined> {
  if (ended.status === 'Succeeded' || ended.rollbackOf) return undefined;
  let current = ended;
  const deadline = Date.now() + 30_000;
  while (!current.endHandled && !current.rolledBackBy && Date.now() < deadline) {
    await sleep(500);
    current = await api.call('getDeployment', { id: ended.deploymentId });
  }
  if (!current.rolledBackBy) return undefined;
  output.progress.write(`automatic rollback ${current.rolledBackBy} started: redeploying the last successful revision to ${ended.application}/${ended.group}\n`);
  return watchDeployment(api, current.rolledBackBy, 'rollback ', output);
}

const UNSETTLED = new Set(['Pending', 'InProgress']);

/**
 * Once a deployment has ended, the instances that never ran are marked Skipped
 * (and running hooks stopped) just after: wait a little for that, so the last
 * frame shows where each instance ended rather than a passing Pending.
 */
async function settled(api: FleetlineApi, deploymentId: string, instances: InstanceView[]): Promise<InstanceView[]> {
  const deadline = Date.now() + 15_000;
  while (instances.some((i) => UNSETTLED.has(i.status)) && Date.now() < deadline) {
    await sleep(500);
    instances = await api.all('listDeploymentInstances', { id: deploymentId });
  }
  return instances;
}

/** What went wrong, where the user looks first: instance, event, exit code, output tail, and how to get the whole log. */
export async function explainFailure(api: FleetlineApi, deployment: DeploymentView): Promise<string> {
  const lines = [`Deployment ${deployment.deploymentId} ${deployment.status}: ${deployment.error?.message ?? 'no error recorded'}`];
  const instanceId = deployment.error?.cause?.instanceId;
  if (!instanceId) return lines.join('\n');
  const detail: InstanceView = await api.call('getDeploymentInstance', { id: deployment.deploymentId, instanceId });
  const failed = (detail.events ?? []).find((e) => e.status === 'Failed');
  if (failed) {
    const exit = failed.exitCode !== undefined && failed.exitCode !== null ? `, exit code ${failed.exitCode}` : '';
    lines.push(`  instance ${instanceId}, event ${failed.name} (${failed.errorCode ?? 'Failed'}${exit})${failed.message ? `: ${failed.message}` : ''}`);
    if (failed.outputTail) {
      lines.push('  output (last lines):');
      for (const line of failed.outputTail.trimEnd().split('\n').slice(-20)) lines.push(`    ${line}`);
    }
  }
  lines.push(`  full log: fleetline logs ${deployment.deploymentId} ${instanceId}`);
  return lines.join('\n');
}
